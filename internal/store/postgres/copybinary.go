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
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return dst, err
	}
	// Microseconds from 2000-01-01 UTC; Sub would overflow past ±292 years of it.
	us := (t.Unix()-pgEpoch.Unix())*1e6 + int64(t.Nanosecond()/1e3)
	return binary.BigEndian.AppendUint64(dst, uint64(us)), nil
}

// encodeNumeric writes a plain decimal ("-123.45", "0.5", "7") as PostgreSQL's
// binary numeric: base-10000 digit groups around the decimal point, with the weight
// of the first group, the sign and the display scale.
func encodeNumeric(dst []byte, v string) ([]byte, error) {
	neg := strings.HasPrefix(v, "-")
	s := strings.TrimPrefix(v, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return dst, fmt.Errorf("not a plain decimal: %q", v)
	}
	if len(frac) > math.MaxInt16 || len(intPart) > math.MaxInt16 {
		return dst, fmt.Errorf("decimal too long: %d digits", len(intPart)+len(frac))
	}
	dscale := len(frac)
	// Pad to whole groups: the integer part on the left, the fraction on the right.
	if r := len(intPart) % 4; r != 0 {
		intPart = strings.Repeat("0", 4-r) + intPart
	}
	if r := len(frac) % 4; r != 0 {
		frac += strings.Repeat("0", 4-r)
	}
	all := intPart + frac
	groups := make([]uint16, 0, len(all)/4)
	for i := 0; i < len(all); i += 4 {
		g, _ := strconv.Atoi(all[i : i+4]) // four ASCII digits, checked above
		groups = append(groups, uint16(g))
	}
	weight := len(intPart)/4 - 1
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
	dst = binary.BigEndian.AppendUint16(dst, uint16(dscale))
	for _, g := range groups {
		dst = binary.BigEndian.AppendUint16(dst, g)
	}
	return dst, nil
}
