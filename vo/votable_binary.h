// Internal to the VOTable reader: the BINARY / BINARY2 stream decoder and the number formatting
// shared with it. Not part of the public interface (see vo/votable.h).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "vo/votable.h"

namespace hfs::vo::detail {

// RFC 4648 base64 with whitespace allowed anywhere and padding optional. Throws
// hfs::Error(EPROTO) naming the offending character and its offset.
std::vector<unsigned char> decode_base64(std::string_view text);

// Appends the rows of a decoded BINARY (binary2 = false) or BINARY2 stream to rows, each cell
// in its TABLEDATA text form. Throws hfs::Error(EPROTO) for a stream that ends inside a row, an
// arraysize or datatype it cannot read, or more cells than cell_budget allows (the budget is
// decremented; it bounds the memory a small hostile document can make us allocate).
void decode_binary_rows(const std::vector<unsigned char>& stream, bool binary2, const std::vector<VoField>& fields,
                        std::vector<VoRow>& rows, std::size_t& cell_budget);

// Shortest text that reads back as the same value (std::to_chars), "NaN", "+Inf", "-Inf".
std::string format_real(double value);
std::string format_real(float value);

}  // namespace hfs::vo::detail
