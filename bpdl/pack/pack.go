// Package pack turns a struct of named values into the flat list that a GoMLX graph, a checkpoint or an
// optimiser takes, and back, so that code names what it holds (w.Layers[l].Q) instead of computing
// positions in a list (fb[2*(l-1)]).
//
// The list order is the struct's field order, depth first: a field of the element type T is one entry, a
// slice of T is its entries in order, a struct (or a pointer to one, or a slice of them) is its own fields
// in order; other fields, unexported fields and fields tagged `pack:"-"` are skipped. A slice of structs
// therefore interleaves: Layers []struct{W, B T} packs as W_0, B_0, W_1, B_1, ...
//
// Unflatten fills a value whose slices already have their lengths (the shape of the list comes from the
// value, not the list), so the same struct type serves graphs whose layer counts differ. For example, with
//
//	type layer[T any] struct{ W, B T }
//	type net[T any] struct {
//		X      T
//		Layers []layer[T]
//	}
//
// a graph function over in []*Node reads its arguments as
//
//	args := net[*Node]{Layers: make([]layer[*Node], layers)}
//	pack.MustUnflatten(&args, in)
//	y := Linear(args.X, args.Layers[0].W, args.Layers[0].B)
//
// and the caller passes pack.Flatten[*tensors.Tensor](net[*tensors.Tensor]{X: x, Layers: ...}).
package pack

import (
	"fmt"
	"reflect"
)

// Flatten returns the values of type T held by s (a struct or a pointer to one), in order.
func Flatten[T any](s any) []T {
	var out []T
	walk[T](reflect.ValueOf(s), func(v reflect.Value) bool {
		out = append(out, v.Interface().(T))
		return true
	})
	return out
}

// Count returns the number of values of type T that s holds: len(Flatten[T](s)).
func Count[T any](s any) int {
	n := 0
	walk[T](reflect.ValueOf(s), func(reflect.Value) bool { n++; return true })
	return n
}

// Unflatten sets the values of type T held by *s (s is a pointer to a struct) from list, in the order
// Flatten gives them, and returns what is left of list. Slices must already have their lengths. It fails
// when list is too short.
func Unflatten[T any](s any, list []T) (rest []T, err error) {
	v := reflect.ValueOf(s)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil, fmt.Errorf("pack: Unflatten needs a non-nil pointer to a struct, got %T", s)
	}
	need := Count[T](s)
	if len(list) < need {
		return nil, fmt.Errorf("pack: %T holds %d values, the list has %d", s, need, len(list))
	}
	i := 0
	walk[T](v, func(f reflect.Value) bool {
		f.Set(reflect.ValueOf(&list[i]).Elem())
		i++
		return true
	})
	return list[i:], nil
}

// MustUnflatten is Unflatten for lists that must fit s exactly (graph arguments built by the same code);
// it panics otherwise.
func MustUnflatten[T any](s any, list []T) {
	rest, err := Unflatten(s, list)
	if err != nil {
		panic(err)
	}
	if len(rest) != 0 {
		panic(fmt.Sprintf("pack: %T holds %d values, the list has %d more", s, len(list)-len(rest), len(rest)))
	}
}

// walk calls f on every value of type T in v, in order (settable when v came from a pointer).
func walk[T any](v reflect.Value, f func(reflect.Value) bool) {
	t := reflect.TypeFor[T]()
	var visit func(v reflect.Value)
	visit = func(v reflect.Value) {
		if v.Type() == t {
			f(v)
			return
		}
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() && v.Elem().Kind() == reflect.Struct {
				visit(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				sf := v.Type().Field(i)
				if !sf.IsExported() || sf.Tag.Get("pack") == "-" {
					continue
				}
				visit(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			et := v.Type().Elem()
			if et != t && et.Kind() != reflect.Struct && !(et.Kind() == reflect.Pointer && et.Elem().Kind() == reflect.Struct) {
				return
			}
			for i := 0; i < v.Len(); i++ {
				visit(v.Index(i))
			}
		}
	}
	visit(v)
}
