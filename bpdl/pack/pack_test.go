package pack

import (
	"reflect"
	"testing"
)

type layer[T any] struct{ W, B T }

type model[T any] struct {
	X       T
	Layers  []layer[T]
	Aux     []T
	Steps   int // not a T: skipped
	Skipped T   `pack:"-"`
	hidden  T
	Inner   *struct{ Q T }
}

func TestFlattenUnflatten(t *testing.T) {
	m := model[string]{X: "x", Layers: []layer[string]{{"w0", "b0"}, {"w1", "b1"}}, Aux: []string{"a", "c"},
		Skipped: "no", hidden: "no", Inner: &struct{ Q string }{"q"}}
	want := []string{"x", "w0", "b0", "w1", "b1", "a", "c", "q"}
	if got := Flatten[string](m); !reflect.DeepEqual(got, want) {
		t.Fatalf("Flatten = %v, want %v", got, want)
	}
	if got := Flatten[string](&m); !reflect.DeepEqual(got, want) {
		t.Fatalf("Flatten(&m) = %v, want %v", got, want)
	}
	if n := Count[string](m); n != len(want) {
		t.Errorf("Count = %d, want %d", n, len(want))
	}
	back := model[string]{Layers: make([]layer[string], 2), Aux: make([]string, 2), Inner: &struct{ Q string }{}}
	rest, err := Unflatten(&back, append(want, "extra"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rest, []string{"extra"}) {
		t.Errorf("rest = %v", rest)
	}
	m.Skipped, m.hidden = "", ""
	if !reflect.DeepEqual(back, m) {
		t.Errorf("Unflatten gave %+v, want %+v", back, m)
	}
	if _, err := Unflatten(&back, want[:3]); err == nil {
		t.Error("Unflatten accepted a short list")
	}
	if _, err := Unflatten(back, want); err == nil {
		t.Error("Unflatten accepted a non-pointer")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustUnflatten accepted a list with values left over")
			}
		}()
		MustUnflatten(&back, append(want, "extra"))
	}()
}

// TestSlicesOfOtherTypes checks that slices of values of another type are skipped, not walked.
func TestSlicesOfOtherTypes(t *testing.T) {
	type s struct {
		Sizes []int
		Names []string
		P     *int
	}
	one := 1
	if got := Flatten[int](s{Sizes: []int{1, 2}, Names: []string{"a"}, P: &one}); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("Flatten = %v", got)
	}
}
