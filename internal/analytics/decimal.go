package analytics

import (
	"math/big"
	"strconv"
	"strings"
)

// Decimal is an exact decimal (unscaled × 10^-scale) for JSON: percentages and money
// are rounded half away from zero on exact values, never on binary floats, so
// 1.005 rounds to 1.01 as the spec's arithmetic says.
type Decimal struct {
	unscaled int64
	scale    int
}

// Money is a PEN amount held in cents.
func Money(cents int64) Decimal { return Decimal{cents, 2} }

// Quotient is num×mul/den rounded half away from zero to scale decimals; a zero
// denominator gives 0 (api.md §0).
func Quotient(num, den, mul int64, scale int) Decimal {
	if den == 0 {
		return Decimal{0, scale}
	}
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	n := new(big.Int).Mul(big.NewInt(num), big.NewInt(mul))
	n.Mul(n, pow)
	d := big.NewInt(den)
	neg := (n.Sign() < 0) != (d.Sign() < 0)
	n.Abs(n)
	d.Abs(d)
	q, r := new(big.Int).QuoRem(n, d, new(big.Int))
	if r.Lsh(r, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return Decimal{q.Int64(), scale}
}

// Pct is num/den ×100 to 2 decimals.
func Pct(num, den int64) Decimal { return Quotient(num, den, 100, 2) }

// Ratio is num/den to 2 decimals.
func Ratio(num, den int64) Decimal { return Quotient(num, den, 1, 2) }

// IsZero reports a zero value.
func (d Decimal) IsZero() bool { return d.unscaled == 0 }

// Cmp orders two decimals of the same scale.
func (d Decimal) Cmp(o Decimal) int {
	switch {
	case d.unscaled < o.unscaled:
		return -1
	case d.unscaled > o.unscaled:
		return 1
	}
	return 0
}

// String writes the exact decimal with all its scale digits ("12.50", "-0.05").
func (d Decimal) String() string {
	if d.scale == 0 {
		return strconv.FormatInt(d.unscaled, 10)
	}
	u := d.unscaled
	sign := ""
	if u < 0 {
		sign, u = "-", -u
	}
	s := strconv.FormatInt(u, 10)
	if len(s) <= d.scale {
		s = strings.Repeat("0", d.scale-len(s)+1) + s
	}
	return sign + s[:len(s)-d.scale] + "." + s[len(s)-d.scale:]
}

// MarshalJSON writes a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalJSON reads a JSON number back (cached responses are stored as JSON).
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	u, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*d = Decimal{u, scale}
	return nil
}
