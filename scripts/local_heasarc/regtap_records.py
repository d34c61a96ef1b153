"""The registry records of the local HEASARC: the rr schema and its rows in memory.

RR_COLUMNS mirrors GAVO's RegTAP FIELDs for rr.resource, rr.capability and rr.interface;
`build_model` makes, for every catalogue table (and every REGISTRY_ONLY resource), the rows
HEASARC publishes, all URLs pointing at the local base URL. Values follow RegTAP: ivoids and
standard ids lower-case, NULL where a record has nothing.
"""

from __future__ import annotations

from dataclasses import dataclass


# ---------------------------------------------------------------- the rr schema ------------
# column -> (datatype, extra FIELD attributes, description); mirrors GAVO's RegTAP FIELDs.
_U = "unicodeChar"
RR_COLUMNS = {
    "rr.resource": {
        "ivoid": ("char", "xpath:identifier", "Unambiguous reference to the resource conforming to the IVOA standard for identifiers."),
        "res_type": ("char", "xpath:@xsi:type", "Resource type (something like vg:authority, vs:catalogservice, etc)."),
        "created": ("char", "xpath:@created", "The UTC date and time this resource metadata description was created."),
        "short_name": ("char", "xpath:shortName", "A short name or abbreviation given to something, for presentation in space-constrained fields (up to 16 characters)."),
        "res_title": (_U, "xpath:title", "The full name given to the resource."),
        "updated": ("char", "xpath:@updated", "The UTC date this resource metadata description was last updated."),
        "content_level": ("char", "xpath:content/contentLevel", "A hash-separated list of content levels specifying the intended audience."),
        "res_description": (_U, "xpath:content/description", "An account of the nature of the resource."),
        "reference_url": ("char", "xpath:content/referenceURL", "URL pointing to a human-readable document describing this resource."),
        "creator_seq": (_U, "xpath:curation/creator/name", "The creator(s) of the resource in the order given by the resource record author, separated by semicolons."),
        "content_type": ("char", "xpath:content/type", "A hash-separated list of natures or genres of the content of the resource."),
        "source_format": ("char", "xpath:content/source/@format", "The format of source_value. This, in particular, can be ``bibcode''."),
        "source_value": (_U, "xpath:content/source", "A bibliographic reference from which the present resource is derived or extracted."),
        "res_version": ("char", "xpath:curation/version", "Label associated with creation or availablilty of a version of a resource."),
        "region_of_regard": ("float", "xpath:coverage/regionOfRegard", "A single numeric value representing the angle, given in decimal degrees, by which a positional query against this resource should be ``blurred'' in order to get an appropriate match."),
        "waveband": ("char", "xpath:coverage/waveband", "A hash-separated list of regions of the electro-magnetic spectrum that the resource's spectral coverage overlaps with."),
        "rights": ("char", "xpath:/rights", "A statement of usage conditions (license, attribution, embargo, etc)."),
        "rights_uri": ("char", "xpath:/rights/@rightsURI", "A URI identifier for a license"),
        "harvested_from": ("char", "", "IVOA identifier of the registry this record was harvested from."),
    },
    "rr.capability": {
        "ivoid": ("char", "", "The parent resource."),
        "cap_index": ("short", "", "An arbitrary identifier of this capability within the resource."),
        "cap_type": ("char", "xpath:@xsi:type", "The type of capability covered here.  If looking for endpoints implementing a certain standard, you should not use this column; rather, match against standard_id."),
        "cap_description": ("char", "xpath:description", "A human-readable description of what this capability provides as part of the over-all service."),
        "standard_id": ("char", "xpath:@standardID", "A URI for a standard this capability conforms to."),
    },
    "rr.interface": {
        "ivoid": ("char", "", "The parent resource."),
        "cap_index": ("short", "", "The index of the parent capability."),
        "intf_index": ("short", "", "An arbitrary identifier for the interfaces of a resource."),
        "intf_type": ("char", "xpath:@xsi:type", "The type of the interface (vr:webbrowser, vs:paramhttp, etc)."),
        "intf_role": ("char", "xpath:@role", "An identifier for the role the interface plays in the particular capability.  If the value is equal to 'std' or begins with 'std:', then the interface refers to a standard interface defined by the standard referred to by the capability's standardID attribute."),
        "std_version": ("char", "xpath:@version", "The version of a standard interface specification that this interface complies with.  When the interface is provided in the context of a Capability element, then the standard being refered to is the one identified by the Capability's standardID element."),
        "query_type": ("char", "xpath:queryType", "Hash-joined list of HTTP requests supported by the interface."),
        "result_type": ("char", "xpath:resultType", "The MIME type of a document returned in the HTTP response."),
        "wsdl_url": ("char", "xpath:wsdlURL", "The location of the WSDL that describes this Web Service."),
        "url_use": ("char", "xpath:accessURL/@use", "A flag indicating whether this should be interpreted as a base URL ('base'), a full URL ('full'), or a URL to a directory that will produce a listing of files ('dir')."),
        "access_url": ("char", "xpath:accessURL", "The URL at which the interface is found."),
        "mirror_url": ("char", "xpath:mirrorURL", "Secondary access URLs of this interface, separated by hash characters."),
        "authenticated_only": ("short", "", "A flag for whether an interface is available for anonymous use (0) or only authenticated clients are served (1)."),
        "security_method_id": ("char", "xpath:securityMethod/@standardID", "The standard identifier of the security method associated with this interface."),
    },
}
TABLE_ALIASES = {"rr.resource": "rr.resource", "rr.capability": "rr.capability",
                 "rr.interface": "rr.interface"}
_SHORT_NULL = -32768


def column_meta(name: str):
    for table in ("rr.resource", "rr.capability", "rr.interface"):
        if name in RR_COLUMNS[table]:
            return RR_COLUMNS[table][name]
    return None


@dataclass
class RegistryModel:
    resources: list[dict]
    capabilities: list[dict]
    interfaces: list[dict]

    def table(self, name: str) -> list[dict]:
        return {"rr.resource": self.resources, "rr.capability": self.capabilities,
                "rr.interface": self.interfaces}[name]


def build_model(catalog, base_url: str) -> RegistryModel:
    """RegTAP rows for every catalog table (4 interfaces each, as HEASARC publishes them)
    and every REGISTRY_ONLY resource. All URLs point at base_url (http://127.0.0.1:PORT)."""
    resources, caps, intfs = [], [], []

    def add(table_name: str, title: str, description: str, has_cone: bool, waveband="x-ray"):
        ivoid = f"ivo://nasa.heasarc/{table_name}".lower()
        resources.append({
            "ivoid": ivoid, "res_type": "vs:catalogservice", "created": "2023-12-08T00:00:00",
            "short_name": table_name.upper()[:16], "res_title": title,
            "updated": "2023-12-08T00:00:00", "content_level": "research",
            "res_description": description,
            "reference_url": f"{base_url}/W3Browse/all/{table_name}.html",
            "creator_seq": "HEASARC", "content_type": "catalog", "source_format": "",
            "source_value": "", "res_version": None, "region_of_regard": None,
            "waveband": waveband, "rights": "", "rights_uri": None,
            "harvested_from": "ivo://nasa.heasarc/registry",
        })
        interfaces = [
            # (cap_type, standard_id, intf_type, intf_role, std_version, url_use, url)
            (None, None, "vr:webbrowser", None, None, "full",
             f"{base_url}/cgi-bin/W3Browse/w3query.pl?tablehead=name=heasarc_{table_name}"
             "&Action=More+Options&Action=Parameter+Search&ConeAdd=1"),
            (None, None, "vs:paramhttp", None, None, "base",
             f"{base_url}/cgi-bin/W3Browse/getvotable.pl?name={table_name}"),
            ("tr:tableaccess", "ivo://ivoa.net/std/tap#aux", "vs:paramhttp", "std", "1.0", "base",
             f"{base_url}/xamin/vo/tap"),
        ]
        if has_cone:
            interfaces.append(
                ("cs:conesearch", "ivo://ivoa.net/std/conesearch", "vs:paramhttp", "std", "1.0",
                 "base", f"{base_url}/xamin/vo/cone?showoffsets&table={table_name}&"))
        for i, (cap_type, std, itype, role, ver, use, url) in enumerate(interfaces, start=1):
            caps.append({"ivoid": ivoid, "cap_index": i, "cap_type": cap_type,
                         "cap_description": None, "standard_id": std})
            intfs.append({"ivoid": ivoid, "cap_index": i, "intf_index": i, "intf_type": itype,
                          "intf_role": role, "std_version": ver,
                          "query_type": "get" if itype == "vs:paramhttp" else None,
                          "result_type": "text/xml" if std else None, "wsdl_url": None,
                          "url_use": use, "access_url": url, "mirror_url": None,
                          "authenticated_only": 0, "security_method_id": None})

    for name, table in catalog.TABLES.items():
        add(name, table.title, table.description, True)
    for entry in getattr(catalog, "REGISTRY_ONLY", []):
        ivoid = entry["ivoid"].lower()
        prefix = "ivo://nasa.heasarc/"
        name = ivoid[len(prefix):] if ivoid.startswith(prefix) else ivoid.rsplit("/", 1)[-1]
        if any(r["ivoid"] == ivoid for r in resources):
            continue
        add(name, entry.get("title", name), entry.get("description", ""),
            bool(entry.get("has_cone", False)))
    return RegistryModel(resources, caps, intfs)
