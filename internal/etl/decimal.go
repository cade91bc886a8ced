package etl

import (
	"errors"
	"strings"
)

// decimal is exact decimal text: digits with the point after `point` of them. Money
// is converted from the text a source gives, never through float64 arithmetic.
type decimal struct {
	neg    bool
	digits string // no leading zeros; "" is zero
	point  int    // digits[:point] is the integer part (point may exceed len or be < 0)
}

var errNotDecimal = errors.New("not a decimal number")

// maxExponent bounds the exponent as written: no FLOAT64 or money value needs more,
// and the digits integerText and money render grow with it.
const maxExponent = 10000

// parseDecimal reads [+-]digits[.digits][e[+-]digits], where the digits before or after
// the point may be omitted but not both, and the exponent is within ±maxExponent; NaN
// and Inf are not numbers.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	var b strings.Builder
	intDigits, seenDigit, seenPoint := 0, false, false
	for ; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch >= '0' && ch <= '9':
			seenDigit = true
			if b.Len() == 0 && ch == '0' {
				// Leading zeros carry no value; keep the point position right.
				if seenPoint {
					intDigits--
				}
				continue
			}
			b.WriteByte(ch)
			if !seenPoint {
				intDigits++
			}
		case ch == '.' && !seenPoint:
			seenPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if !seenDigit {
		return d, errNotDecimal
	}
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return d, errNotDecimal
		}
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return d, errNotDecimal
		}
		exp := 0
		for ; i < len(s); i++ {
			if s[i] < '0' || s[i] > '9' {
				return d, errNotDecimal
			}
			if exp = exp*10 + int(s[i]-'0'); exp > maxExponent {
				return d, errNotDecimal
			}
		}
		if expNeg {
			exp = -exp
		}
		intDigits += exp
	}
	d.digits = strings.TrimRight(b.String(), "0")
	d.point = intDigits
	if d.digits == "" {
		// Zero has no sign, nor a fraction however written ("0.00", "0e-5").
		d.neg, d.point = false, 0
	}
	return d, nil
}

func (d decimal) hasFraction() bool { return len(d.digits) > d.point }

// integerText renders an integral decimal.
func (d decimal) integerText() string {
	if d.digits == "" {
		return "0"
	}
	s := d.digits + strings.Repeat("0", d.point-len(d.digits))
	if d.neg {
		return "-" + s
	}
	return s
}

// money rounds half away from zero to 2 decimals; false when it needs more than 13
// integer digits (NUMERIC(15,2)).
func (d decimal) money() (string, bool) {
	if d.digits == "" || d.point < -2 {
		// Zero, or below 0.001: rounds to zero.
		return "0.00", true
	}
	// Digits up to 2 after the point, padded; then round on the next digit.
	keep := d.point + 2
	var cents []byte
	if keep <= len(d.digits) {
		cents = []byte(d.digits[:keep])
	} else {
		cents = []byte(d.digits + strings.Repeat("0", keep-len(d.digits)))
	}
	if keep < len(d.digits) && d.digits[keep] >= '5' {
		cents = increment(cents)
	}
	// cents holds the value ×100; render with the point before the last two digits.
	s := strings.TrimLeft(string(cents), "0")
	for len(s) < 3 {
		s = "0" + s
	}
	intPart, frac := s[:len(s)-2], s[len(s)-2:]
	if len(intPart) > 13 {
		return "", false
	}
	if intPart == "0" && frac == "00" {
		return "0.00", true
	}
	return d.sign() + intPart + "." + frac, true
}

func (d decimal) sign() string {
	if d.neg {
		return "-"
	}
	return ""
}

func increment(digits []byte) []byte {
	for i := len(digits) - 1; i >= 0; i-- {
		if digits[i] < '9' {
			digits[i]++
			return digits
		}
		digits[i] = '0'
	}
	return append([]byte{'1'}, digits...)
}
