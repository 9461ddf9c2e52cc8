package filter

// IPv6 hosts are parsed and printed here rather than with net/netip, which
// adds about 150 KB to the module for two small functions.

// parseIPv6 parses the textual forms of RFC 4291 (hex pieces, one "::", an
// optional trailing dotted IPv4 address) into eight 16-bit pieces.
func parseIPv6(s string) (pieces [8]uint16, ok bool) {
	n, gap := 0, -1 // pieces written; where "::" stands
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		gap, s = 0, s[2:]
		if s == "" {
			return pieces, true
		}
	} else if s == "" || s[0] == ':' {
		return pieces, false
	}
	for {
		if n == 8 {
			return pieces, false
		}
		// A dotted IPv4 address may end the address in place of two pieces.
		if v4, ok := parseIPv4(s); ok && n <= 6 {
			pieces[n], pieces[n+1] = uint16(v4>>16), uint16(v4)
			n += 2
			break
		}
		v, i := 0, 0
		for ; i < len(s) && i < 5; i++ {
			d := hexDigit(s[i])
			if d < 0 {
				break
			}
			v = v<<4 | d
		}
		if i == 0 || i > 4 {
			return pieces, false
		}
		pieces[n], n, s = uint16(v), n+1, s[i:]
		if s == "" {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return pieces, false
		}
		s = s[1:]
		if s[0] == ':' {
			if gap >= 0 {
				return pieces, false
			}
			gap, s = n, s[1:]
			if s == "" {
				break
			}
		}
	}
	if gap < 0 {
		return pieces, n == 8
	}
	if n == 8 {
		return pieces, false // "::" must stand for at least one piece
	}
	shift := 8 - n
	copy(pieces[gap+shift:], pieces[gap:n])
	clear(pieces[gap : gap+shift])
	return pieces, true
}

// parseIPv4 parses a dotted-decimal IPv4 address without leading zeros.
func parseIPv4(s string) (uint32, bool) {
	var v uint32
	for part := 0; part < 4; part++ {
		if part > 0 {
			if s == "" || s[0] != '.' {
				return 0, false
			}
			s = s[1:]
		}
		n, i := 0, 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && i < 3; i++ {
			n = n*10 + int(s[i]-'0')
		}
		if i == 0 || n > 255 || (i > 1 && s[0] == '0') {
			return 0, false
		}
		v, s = v<<8|uint32(n), s[i:]
	}
	return v, s == ""
}

func hexDigit(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendIPv6 prints pieces as the URL standard serializes an IPv6 host
// (without brackets): lower-case hex without leading zeros, the first
// longest run of two or more zero pieces written "::".
func appendIPv6(dst []byte, pieces [8]uint16) []byte {
	start, length := -1, 1
	for i := 0; i < 8; {
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j + 1
	}
	for i := 0; i < 8; i++ {
		if i == start {
			dst = append(dst, ':', ':')
			i += length - 1
			continue
		}
		if i > 0 && i != start+length {
			dst = append(dst, ':')
		}
		dst = appendHex(dst, pieces[i])
	}
	return dst
}

func appendHex(dst []byte, v uint16) []byte {
	const digits = "0123456789abcdef"
	started := false
	for shift := 12; shift >= 0; shift -= 4 {
		d := (v >> shift) & 0xf
		if d != 0 || started || shift == 0 {
			dst = append(dst, digits[d])
			started = true
		}
	}
	return dst
}
