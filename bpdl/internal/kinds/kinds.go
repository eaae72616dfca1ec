// Package kinds is the one implementation behind bpdl's registries of types that travel in JSON: the
// optimisers of package optim and the neuron models of package snn. A Registry maps names to
// constructors of values of an interface type, finds the name of a value by its dynamic type, and gives
// every value of a registered type a JSON form that names its kind:
//
//	{"Kind": name, ...the fields of the value's own JSON object}
//
// which Unmarshal decodes by starting from the kind's constructor. The packages that use it wrap it in a
// Registry type of their own, so that their documentation says what they register.
package kinds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Registry registers named types implementing T. It is a plain value: no registry is global.
type Registry[T any] struct {
	// prefix and what name the registry in its errors ("optim", "optimiser").
	prefix, what string
	entries      []entry[T]
}

type entry[T any] struct {
	name string
	new  func() T
	typ  reflect.Type
}

// New returns an empty registry whose errors start with prefix and call a registered value a what.
func New[T any](prefix, what string) *Registry[T] {
	return &Registry[T]{prefix: prefix, what: what}
}

// Register adds the type of new's values under name. The name must be new and not empty, new must return
// a non-nil value, and its type must not be registered under another name (Name finds a value's name by
// its type).
func (r *Registry[T]) Register(name string, new func() T) error {
	if name == "" {
		return fmt.Errorf("%s: registering a %s without a name", r.prefix, r.what)
	}
	if new == nil {
		return fmt.Errorf("%s: registering %s %q without a constructor", r.prefix, r.what, name)
	}
	v := new()
	if isNil(v) {
		return fmt.Errorf("%s: the constructor of %s %q returns nil", r.prefix, r.what, name)
	}
	typ := reflect.TypeOf(v)
	for _, e := range r.entries {
		if e.name == name {
			return fmt.Errorf("%s: %s %q is registered twice", r.prefix, r.what, name)
		}
		if e.typ == typ {
			return fmt.Errorf("%s: type %v is registered as %q and %q", r.prefix, typ, e.name, name)
		}
	}
	r.entries = append(r.entries, entry[T]{name: name, new: new, typ: typ})
	return nil
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Interface, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// Names lists the registered names in the order they were registered.
func (r *Registry[T]) Names() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.name
	}
	return out
}

// New returns a new value of the named kind, as its constructor makes it.
func (r *Registry[T]) New(name string) (T, error) {
	e, err := r.lookup(name)
	if err != nil {
		var zero T
		return zero, err
	}
	return e.new(), nil
}

// Name returns the name v's type is registered under.
func (r *Registry[T]) Name(v T) (string, bool) {
	typ := reflect.TypeOf(v)
	for _, e := range r.entries {
		if e.typ == typ {
			return e.name, true
		}
	}
	return "", false
}

func (r *Registry[T]) lookup(name string) (entry[T], error) {
	for _, e := range r.entries {
		if e.name == name {
			return e, nil
		}
	}
	return entry[T]{}, fmt.Errorf("%s: unknown %s %q (known: %s)", r.prefix, r.what, name, strings.Join(r.Names(), ", "))
}

// Marshal encodes v as {"Kind": the name its type is registered under, then the fields of v's own JSON
// object}. v's JSON must be an object without a field named Kind.
func (r *Registry[T]) Marshal(v T) ([]byte, error) {
	name, ok := r.Name(v)
	if !ok {
		return nil, fmt.Errorf("%s: %s type %T is not registered (known: %s)", r.prefix, r.what, v, strings.Join(r.Names(), ", "))
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s: encoding %s %s: %w", r.prefix, r.what, name, err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("%s: %s %s (%T) encodes as %s, want a JSON object", r.prefix, r.what, name, v, body)
	}
	for f := range fields {
		if strings.EqualFold(f, "Kind") {
			return nil, fmt.Errorf("%s: %s %s (%T) has a field %q, which the registry's Kind would hide", r.prefix, r.what, name, v, f)
		}
	}
	kind, _ := json.Marshal(name)
	var b bytes.Buffer
	b.WriteString(`{"Kind":`)
	b.Write(kind)
	if len(fields) > 0 {
		b.WriteByte(',')
		b.Write(bytes.TrimSpace(body)[1:])
	} else {
		b.WriteByte('}')
	}
	return b.Bytes(), nil
}

// Unmarshal decodes what Marshal encodes: it starts from the constructor of the document's Kind and
// decodes the document into that value with encoding/json, so fields the document lacks keep the
// constructor's values and fields the type lacks are ignored.
func (r *Registry[T]) Unmarshal(data []byte) (T, error) {
	var zero T
	var head struct{ Kind *string }
	if err := json.Unmarshal(data, &head); err != nil {
		return zero, fmt.Errorf("%s: reading a %s: %w", r.prefix, r.what, err)
	}
	if head.Kind == nil {
		return zero, fmt.Errorf("%s: reading a %s: no Kind in %s", r.prefix, r.what, data)
	}
	e, err := r.lookup(*head.Kind)
	if err != nil {
		return zero, err
	}
	v := reflect.New(e.typ)
	v.Elem().Set(reflect.ValueOf(e.new()))
	if err := json.Unmarshal(data, v.Interface()); err != nil {
		return zero, fmt.Errorf("%s: reading %s %s: %w", r.prefix, r.what, e.name, err)
	}
	return v.Elem().Interface().(T), nil
}
