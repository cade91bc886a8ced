package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// COPY binary format: the server reads each value as it is stored instead of parsing
// its text (timestamps, dates and numerics above all), which makes a load cheaper for
// PostgreSQL than a text or CSV COPY of the same rows. Values arrive as the canonical
// text of etl.Converter and are encoded here by the column's type.

// binaryEncoder appends one non-NULL value, given as canonical text, in binary form.
type binaryEncoder func(dst []byte, v string) ([]byte, error)

var copyBinaryHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// pgEpoch is the origin of PostgreSQL's binary dates and timestamps.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Type OIDs with a binary encoder.
const (
	oidBool        = 16
	oidInt8        = 20
	oidInt2        = 21
	oidInt4        = 23
	oidText        = 25
	oidVarchar     = 1043
	oidDate        = 1082
	oidTimestamp   = 1114
	oidTimestamptz = 1184
	oidNumeric     = 1700
)

func encoderFor(oid uint32) binaryEncoder {
	switch oid {
	case oidText, oidVarchar:
		return func(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }
	case oidBool:
		return encodeBool
	case oidInt2:
		return intEncoder(16)
	case oidInt4:
		return intEncoder(32)
	case oidInt8:
		return intEncoder(64)
	case oidDate:
		return encodeDate
	case oidTimestamp, oidTimestamptz:
		return encodeTimestamp
	case oidNumeric:
		return encodeNumeric
	}
	return nil
}

// binaryEncoders returns one encoder per column of table, in the order given, or nil
// when a column's type has none (the load then uses the text format).
func binaryEncoders(ctx context.Context, tx pgx.Tx, table string, cols []string) ([]binaryEncoder, error) {
	rows, err := tx.Query(ctx, `SELECT attname, atttypid FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, table)
	if err != nil {
		return nil, fmt.Errorf("column types of %s: %w", table, err)
	}
	types := map[string]uint32{}
	var name string
	var oid uint32
	if _, err := pgx.ForEachRow(rows, []any{&name, &oid}, func() error {
		types[name] = oid
		return nil
	}); err != nil {
		return nil, fmt.Errorf("column types of %s: %w", table, err)
	}
	encs := make([]binaryEncoder, len(cols))
	for i, c := range cols {
		if encs[i] = encoderFor(types[c]); encs[i] == nil {
			return nil, nil
		}
	}
	return encs, nil
}

func encodeBool(dst []byte, v string) ([]byte, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return dst, err
	}
	if b {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

func intEncoder(bits int) binaryEncoder {
	return func(dst []byte, v string) ([]byte, error) {
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return dst, err
		}
		switch bits {
		case 16:
			return binary.BigEndian.AppendUint16(dst, uint16(n)), nil
		case 32:
			return binary.BigEndian.AppendUint32(dst, uint32(n)), nil
		}
		return binary.BigEndian.AppendUint64(dst, uint64(n)), nil
	}
}

func encodeDate(dst []byte, v string) ([]byte, error) {
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return dst, err
	}
	return binary.BigEndian.AppendUint32(dst, uint32(int32(d.Sub(pgEpoch)/(24*time.Hour)))), nil
}

func encodeTimestamp(dst []byte, v string) ([]byte, error) {
	t, ok := parseCanonicalUTC(v)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return dst, err
		}
	}
	// Microseconds from 2000-01-01 UTC; Sub would overflow past ±292 years of it.
	us := (t.Unix()-pgEpoch.Unix())*1e6 + int64(t.Nanosecond()/1e3)
	return binary.BigEndian.AppendUint64(dst, uint64(us)), nil
}

// parseCanonicalUTC reads the converter's timestamp text, YYYY-MM-DDTHH:MM:SS, an
// optional fraction and Z, without time.Parse's generality (it is on every row).
func parseCanonicalUTC(v string) (time.Time, bool) {
	if len(v) < 20 || v[len(v)-1] != 'Z' || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' {
		return time.Time{}, false
	}
	num := func(s string) (int, bool) {
		n := 0
		for i := 0; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
			n = n*10 + int(s[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(v[0:4])
	mo, ok2 := num(v[5:7])
	d, ok3 := num(v[8:10])
	h, ok4 := num(v[11:13])
	mi, ok5 := num(v[14:16])
	sec, ok6 := num(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	var nanos int
	if frac := v[19 : len(v)-1]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nanos = n
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nanos, time.UTC)
	if t.Day() != d { // 31 April and the like normalise to another day: not canonical
		return time.Time{}, false
	}
	return t, true
}

// encodeNumeric writes a plain decimal ("-123.45", "0.5", "7") as PostgreSQL's
// binary numeric: base-10000 digit groups around the decimal point, with the weight
// of the first group, the sign and the display scale.
func encodeNumeric(dst []byte, v string) ([]byte, error) {
	neg := len(v) > 0 && v[0] == '-'
	s := v
	if neg {
		s = v[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(intPart)+len(frac) > math.MaxInt16 {
		return dst, fmt.Errorf("not a plain decimal: %q", v)
	}
	// Digit i of intPart+frac sits in group (lead+i)/4, where lead pads the integer
	// part on the left to whole groups; the fraction is padded on the right.
	lead := (4 - len(intPart)%4) % 4
	n := (lead + len(intPart) + len(frac) + 3) / 4
	var stack [16]uint16
	groups := stack[:0]
	if n > len(stack) {
		groups = make([]uint16, 0, n)
	}
	groups = groups[:n]
	clear(groups)
	for i := 0; i < len(intPart)+len(frac); i++ {
		c := byte(0)
		if i < len(intPart) {
			c = intPart[i]
		} else {
			c = frac[i-len(intPart)]
		}
		if c < '0' || c > '9' {
			return dst, fmt.Errorf("not a plain decimal: %q", v)
		}
		p := lead + i
		groups[p/4] = groups[p/4]*10 + uint16(c-'0')
		if p%4 == 3 || i == len(intPart)+len(frac)-1 {
			for q := p % 4; q < 3; q++ { // a last partial group is scaled to four digits
				groups[p/4] *= 10
			}
		}
	}
	weight := (lead+len(intPart))/4 - 1
	for len(groups) > 0 && groups[0] == 0 {
		groups = groups[1:]
		weight--
	}
	for len(groups) > 0 && groups[len(groups)-1] == 0 {
		groups = groups[:len(groups)-1]
	}
	var sign uint16
	if neg && len(groups) > 0 {
		sign = 0x4000
	}
	if len(groups) == 0 {
		weight = 0
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(groups)))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(weight)))
	dst = binary.BigEndian.AppendUint16(dst, sign)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(frac)))
	for _, g := range groups {
		dst = binary.BigEndian.AppendUint16(dst, g)
	}
	return dst, nil
}
