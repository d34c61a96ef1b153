"""The local HEASARC's catalogue: tables with their real columns and rows, the objects Sesame
knows, and where each observation's archive directory lives. Deterministic and hand-written:
the facts tests rely on are stated next to the rows.

NGC 4151 (182.63573325, +39.40585097) in numaster, default radius 1 degree:
  - 8 rows within 1 degree, exactly 3 with exposure_a >= 50000: 60001111003 (57036 s),
    60001111005 (61531 s), 60401014002 (52311 s); 60001111002 at 21864 s;
  - 60701011002 is proprietary (status 'accepted', public_date in the future: no directory);
  - 60801015002 lies 1.15 degrees away: outside the default radius, inside @1.5deg.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Field:
    name: str
    datatype: str
    unit: str = ''
    ucd: str = ''
    arraysize: str = ''
    description: str = ''
    width: int | None = None
    precision: str = ''
    id: str = ''


@dataclass
class Table:
    name: str
    title: str
    description: str
    fields: list
    rows: list
    key: str = 'obsid'
    ra: str = 'ra'
    dec: str = 'dec'
    datalink_field: str = 'obsid'
    mission: str = 'nustar'

    def archive_path(self, row) -> str | None:
        """The directory as the DataLink 'directory' URL shows it, relative to the site root;
        None for a proprietary row (no directory product)."""
        if row.get('status') != 'archived':
            return None
        obsid = str(row[self.key])
        if self.mission == 'nustar':
            # The real NuSTAR URLs carry a double slash: .../obs/00/6//60001111003/
            return f'FTP/nustar/data/obs/{obsid[1:3]}/{obsid[0]}//{obsid}/'
        if self.mission == 'chandra':
            # Xamin builds '/FTP/chandra/data/byobsid/' || last digit || '//' || obsid || '/'
            return f'FTP/chandra/data/byobsid/{obsid[-1]}//{obsid}/'
        raise ValueError(self.mission)

    def product_key(self, row) -> str:
        return {'nustar': 'nustar.obs', 'chandra': 'chandra.obs'}[self.mission]


def normalize_name(name: str) -> str:
    """Sesame ignores case and whitespace: 'NGC 4151' == 'ngc4151' == 'Ngc  4151'."""
    return ''.join(name.lower().split())


def data_root(explicit: str | None = None) -> Path:
    return Path(explicit or os.environ.get('HEASARC_DATA') or REPO / 'build' / 'heasarc-data')


# -- numaster -------------------------------------------------------------------------------
NUMASTER_FIELDS = [
    Field('__row', 'char', arraysize='*', description='Unique row identifier'),
    Field('name', 'char', ucd='meta.id;meta.main', arraysize='*', description='Designation of the Pointed Source'),
    Field('ra', 'double', 'degree', 'pos.eq.ra;meta.main', precision='F4', description='Right Ascension'),
    Field('dec', 'double', 'degree', 'pos.eq.dec;meta.main', precision='F4', description='Declination'),
    Field('time', 'double', 'mjd', 'time.start;obs', precision='F4', description='Start Time of Observation'),
    Field('obsid', 'char', ucd='ID_MAIN', arraysize='*', description='Unique Observation Identifier'),
    Field('status', 'char', ucd='meta.code.status;obs', arraysize='*', description='Status of Observation'),
    Field('exposure_a', 'double', 's', 'time.duration;obs.exposure', precision='F0',
          description='FPMA Exposure Time'),
    Field('observation_mode', 'char', ucd='instr.setup', arraysize='*', description='Observation Mode'),
    Field('obs_type', 'char', ucd='meta.code.class;obs', arraysize='*', description='Observation Type'),
    Field('processing_date', 'double', 'mjd', 'time.processing', precision='F1', description='Processing Date'),
    Field('public_date', 'int', 'mjd', 'time.release', description='Public Date'),
    Field('issue_flag', 'short', ucd='meta.code.qual', description='Data Issue Flag'),
]

# (name, ra, dec, obsid, status, exposure_a, obs_type, start MJD)
_NUSTAR = [
    # NGC 4151 and its neighbourhood
    ('NGC_4151', 182.6357, 39.4058, '60001111002', 'archived', 21864.1, 'EGS', 56264.1843),
    ('NGC_4151', 182.6362, 39.4061, '60001111003', 'archived', 57036.3, 'EGS', 56267.7218),
    ('NGC_4151', 182.6351, 39.4055, '60001111005', 'archived', 61531.6, 'EGS', 56271.4431),
    ('NGC_4151', 182.6360, 39.4064, '60401014002', 'archived', 52311.7, 'GO', 58474.1220),
    ('NGC_4151', 182.6349, 39.4052, '60502017004', 'archived', 41890.2, 'GO', 59612.8764),
    ('NGC_4151', 182.6355, 39.4060, '60701011002', 'accepted', 33012.9, 'GO', 61214.3305),
    ('NGC_4156', 182.7320, 39.4730, '60601020002', 'archived', 28776.0, 'GO', 60012.5521),
    ('NGC4151_OFFSET_1', 183.0500, 39.6000, '30601015002', 'archived', 15003.5, 'ELS', 59350.2290),
    ('NGC4151_FAR_FIELD', 182.6357, 40.5558, '60801015002', 'archived', 80120.0, 'GO', 60412.0903),
    # M 31
    ('M31', 10.6847, 41.2690, '50026001002', 'archived', 30113.4, 'EGS', 56672.3012),
    ('M31', 10.6901, 41.2712, '50026001004', 'archived', 29874.2, 'EGS', 56679.1167),
    ('M31_NORTH', 11.2000, 41.5000, '50026001006', 'archived', 26011.0, 'EGS', 56686.5590),
    # 3C 273
    ('3C_273', 187.2779, 2.0524, '10002020001', 'archived', 24476.3, 'CAL', 56463.5813),
    ('3C_273', 187.2781, 2.0522, '10002020003', 'archived', 21911.0, 'CAL', 56834.2200),
    ('3C_273', 187.2777, 2.0526, '30001118002', 'archived', 19765.8, 'GO', 57201.6402),
    # Cen A: exactly one row
    ('CEN_A', 201.3651, -43.0191, '60001081002', 'archived', 51462.0, 'EGS', 56477.0271),
    # Cyg X-1
    ('CYG_X1', 299.5903, 35.2016, '30001011002', 'archived', 14230.9, 'GO', 56451.0100),
    ('CYG_X1', 299.5905, 35.2018, '30001011003', 'archived', 9871.5, 'GO', 56452.2204),
    # 3C 105 (the tutorial notebook's rows)
    ('3C105', 61.8022, 3.6837, '60061044002', 'archived', 4807.3775, 'EGS', 56338.0876),
    ('3C105', 61.8059, 3.6858, '60061044006', 'archived', 5582.6419, 'EGS', 56339.1640),
    ('3C105', 61.8034, 3.6859, '60061044004', 'archived', 6208.4217, 'EGS', 56338.6258),
    ('3C105', 61.8020, 3.6872, '60261003004', 'archived', 20703.0, 'ELS', 57826.4661),
    ('3C105', 61.8410, 3.7349, '60261003002', 'archived', 20737.0, 'ELS', 57621.2994),
]


def _numaster_rows():
    rows = []
    for index, (name, ra, dec, obsid, status, exposure, obs_type, start) in enumerate(_NUSTAR):
        public = status == 'archived'
        rows.append({
            '__row': str(3570 + index), 'name': name, 'ra': ra, 'dec': dec, 'time': start, 'obsid': obsid,
            'status': status, 'exposure_a': exposure, 'observation_mode': 'SCIENCE', 'obs_type': obs_type,
            'processing_date': round(start + 3.3, 1) if public else None,
            'public_date': int(start) + (30 if public else 400), 'issue_flag': 0,
        })
    return rows


# -- chanmaster -----------------------------------------------------------------------------
CHANMASTER_FIELDS = [
    Field('obsid', 'char', ucd='ID_MAIN', arraysize='*', width=5, description='Observation Identifier'),
    Field('status', 'char', ucd='meta.code.status;obs', arraysize='*', description='Status of Observation'),
    Field('name', 'char', ucd='meta.id;meta.main', arraysize='*', description='Target Designation'),
    Field('ra', 'double', 'degree', 'pos.eq.ra;meta.main', precision='F5', description='Right Ascension'),
    Field('dec', 'double', 'degree', 'pos.eq.dec;meta.main', precision='F5', description='Declination'),
    Field('time', 'double', 'mjd', 'time.start;obs', description='Start Time of Observation (UTC)'),
    Field('detector', 'char', ucd='instr;instr.det', arraysize='*', description='Detector'),
    Field('grating', 'char', ucd='instr;instr.det', arraysize='*', description='Grating Setting'),
    Field('exposure', 'double', 's', 'time.duration;obs.exposure', precision='F0',
          description='Actual Exposure Time If Observed, Otherwise the Approved Exposure (s)'),
    Field('type', 'char', ucd='meta.note;obs', arraysize='*', description='Type of Observation (GO,GTO,CAL,TOO,DDT)'),
    Field('pi', 'char', ucd='meta.id.PI', arraysize='*', description='PI of Observation'),
    Field('public_date', 'int', 'mjd', 'time.release', description='Public Date'),
]

_CHANDRA = [
    # the two real rows of the Xamin sample, then more
    ('3052', 'archived', 'NGC 4151', 182.63625, 39.40544, 52403.7679, 'ACIS-S', 'HETG', 156600.0, 'GO', 'kraemer', 52779),
    ('3480', 'archived', 'NGC 4151', 182.63625, 39.40544, 52401.9756, 'ACIS-S', 'HETG', 92890.0, 'GO', 'kraemer', 52779),
    ('7829', 'archived', 'NGC 4151', 182.63580, 39.40590, 54147.4560, 'ACIS-S', 'NONE', 49380.0, 'GTO', 'wang', 54512),
    ('7830', 'archived', 'NGC 4151', 182.63580, 39.40590, 54153.0040, 'ACIS-S', 'NONE', 22870.0, 'GTO', 'wang', 54518),
    ('29001', 'observed', 'NGC 4151', 182.63570, 39.40580, 61200.5000, 'ACIS-S', 'HETG', 40000.0, 'GO', 'miller', 61565),
    ('303', 'archived', 'M31', 10.68479, 41.26906, 51467.5500, 'ACIS-I', 'NONE', 12010.0, 'GTO', 'murray', 51833),
    ('1575', 'archived', 'M31', 10.68479, 41.26906, 52088.0100, 'HRC-I', 'NONE', 38150.0, 'GO', 'garcia', 52454),
]


def _chanmaster_rows():
    keys = ['obsid', 'status', 'name', 'ra', 'dec', 'time', 'detector', 'grating', 'exposure', 'type', 'pi',
            'public_date']
    return [dict(zip(keys, row)) for row in _CHANDRA]


TABLES = {
    'numaster': Table('numaster', 'NuSTAR Master Catalog',
                      'This table records information related to observations taken by the Nuclear Spectroscopic '
                      'Telescope Array (NuSTAR).', NUMASTER_FIELDS, _numaster_rows(), mission='nustar'),
    'chanmaster': Table('chanmaster', 'Chandra Observations',
                        'This database table contains all of the Chandra X-Ray Observatory observations, '
                        'planned or performed.', CHANMASTER_FIELDS, _chanmaster_rows(), mission='chandra'),
}

REGISTRY_ONLY = [
    dict(ivoid='ivo://nasa.heasarc/xmmmaster', title='XMM-Newton Master Log & Public Archive',
         description='Observations made by XMM-Newton.', has_cone=True),
    dict(ivoid='ivo://nasa.heasarc/rosmaster', title='ROSAT Archival Data',
         description='ROSAT pointed observations.', has_cone=True),
    dict(ivoid='ivo://nasa.heasarc/xteassist', title='RXTE Assist Table',
         description='A table offered through TAP only, with no cone search.', has_cone=False),
]

# normalized name -> (ra, dec, display name, object type)
OBJECTS = {normalize_name(name): (ra, dec, name, otype) for name, ra, dec, otype in [
    ('NGC 4151', 182.63573325, 39.40585097, 'Sy1'),
    ('NGC 4156', 182.73208333, 39.47305556, 'Sy1'),
    ('M 31', 10.684708333, 41.268750000, 'GiG'),
    ('3C 273', 187.277915345, 2.052388664, 'QSO'),
    ('Cen A', 201.365062792, -43.019112472, 'Sy2'),
    ('Cyg X-1', 299.590315813, 35.201606097, 'HXB'),
    ('3C 105', 61.818333, 3.707222, 'Sy2'),
    ('Vela X-1', 135.528587813, -40.554692775, 'HXB'),  # resolvable, no numaster rows
    ('Castor', 113.649471640, 31.888282216, 'SB*'),     # sesame_castor_*.txt
    ('NGC 3642', 170.57458768232, 59.07452101151, 'LIN'),  # sesame_ngc3642_*.txt
]}
