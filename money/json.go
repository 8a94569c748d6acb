package money

import (
	"encoding/json"
	"fmt"
)

// Currency is the one currency possim keeps money in; every JSON object
// that carries amounts names it in a "currency" key.
const Currency = "CNY"

// Decimal is an amount in minor units that JSON writes as a decimal
// string in major units ("12.34"), so no reader turns money into a float.
type Decimal int64

// MarshalJSON writes "12.34".
func (d Decimal) MarshalJSON() ([]byte, error) { return json.Marshal(Format(int64(d))) }

// UnmarshalJSON reads what MarshalJSON writes, through Parse.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("amount %s: want a decimal string such as \"12.34\"", b)
	}
	v, err := Parse(s)
	if err != nil {
		return err
	}
	*d = Decimal(v)
	return nil
}
