package kinds

import (
	"strings"
	"testing"
)

type shape interface{ Area() float64 }

type square struct{ Side float64 }

func (s square) Area() float64 { return s.Side * s.Side }

// circle is registered as a pointer type.
type circle struct{ R float64 }

func (c *circle) Area() float64 { return 3 * c.R * c.R }

// point has no fields: its JSON is {}.
type point struct{}

func (point) Area() float64 { return 0 }

// TestRoundTrip encodes values of value, pointer and field-less types and decodes them back.
func TestRoundTrip(t *testing.T) {
	r := New[shape]("geo", "shape")
	for name, new := range map[string]func() shape{
		"square": func() shape { return square{Side: 1} },
		"circle": func() shape { return &circle{R: 1} },
		"point":  func() shape { return point{} },
	} {
		if err := r.Register(name, new); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		v    shape
		want string
	}{
		{square{Side: 2}, `{"Kind":"square","Side":2}`},
		{&circle{R: 3}, `{"Kind":"circle","R":3}`},
		{point{}, `{"Kind":"point"}`},
	} {
		b, err := r.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Marshal(%#v) = %s, want %s", tc.v, b, tc.want)
		}
		back, err := r.Unmarshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if back.Area() != tc.v.Area() {
			t.Errorf("Unmarshal(%s) = %#v, want %#v", b, back, tc.v)
		}
	}
	// Decoding a pointer kind twice gives two values, not one shared.
	a, _ := r.Unmarshal([]byte(`{"Kind":"circle","R":1}`))
	b, _ := r.Unmarshal([]byte(`{"Kind":"circle","R":2}`))
	if a.Area() == b.Area() {
		t.Errorf("two decoded circles share their value")
	}
	if _, err := r.Unmarshal([]byte(`{"Kind":"hexagon"}`)); err == nil || !strings.HasPrefix(err.Error(), "geo: unknown shape") {
		t.Errorf("unknown kind: %v", err)
	}
	if err := r.Register("nilcircle", func() shape { return (*circle)(nil) }); err == nil {
		t.Errorf("Register accepted a constructor returning a nil pointer")
	}
}
