package optim

import (
	"encoding/json"

	"github.com/bpdl/bpdl/bpdl/internal/kinds"
)

// Constructor returns an optimiser of one type with its default hyper-parameters: what Registry.New
// gives for its name, and the value Registry.Unmarshal decodes a document of its kind into (fields the
// document lacks keep these values).
type Constructor func() Optimizer

// Registry names optimiser types: it maps a name ("sgd", "adam") to a Constructor, and gives every
// optimiser of a registered type a JSON form, {"Kind": name, ...the fields of its type's JSON object},
// which Unmarshal turns back into the same value. A registry is a plain value: DefaultRegistry returns a
// new one holding bpdl's optimisers, to which a program adds its own with Register.
type Registry struct {
	r *kinds.Registry[Optimizer]
}

// DefaultRegistry returns the optimisers bpdl ships: "sgd" (SGD) and "adam" (Adam, with
// torch.optim.Adam's defaults). A new optimiser is one file holding its type plus one line here (or one
// Register call in the program that uses it).
func DefaultRegistry() *Registry {
	r := &Registry{kinds.New[Optimizer]("optim", "optimiser")}
	for _, e := range []struct {
		name string
		new  Constructor
	}{
		{"sgd", func() Optimizer { return SGD{} }},
		{"adam", func() Optimizer { return DefaultAdam(1e-3) }},
	} {
		if err := r.Register(e.name, e.new); err != nil {
			panic(err) // the entries above are fixed: a clash is a bug every test catches
		}
	}
	return r
}

// Register adds an optimiser type under name. The name must be new and not empty, new must return a
// non-nil optimiser, and its type must not be registered under another name (Marshal finds an
// optimiser's name by its type).
func (r *Registry) Register(name string, new Constructor) error { return r.r.Register(name, new) }

// Names lists the registered optimisers in the order they were registered.
func (r *Registry) Names() []string { return r.r.Names() }

// New returns the named optimiser with its default hyper-parameters.
func (r *Registry) New(name string) (Optimizer, error) { return r.r.New(name) }

// Name returns the name o's type is registered under.
func (r *Registry) Name(o Optimizer) (string, bool) { return r.r.Name(o) }

// Marshal encodes o as JSON: {"Kind": the name its type is registered under, then the fields of o's own
// JSON object}. o's JSON must be an object without a field named Kind.
func (r *Registry) Marshal(o Optimizer) ([]byte, error) { return r.r.Marshal(o) }

// Unmarshal decodes what Marshal encodes: it starts from the constructor of the document's Kind and
// decodes the document into that value with encoding/json (which ignores fields the type lacks). It
// does not validate the hyper-parameters (Optimizer.Validate does).
func (r *Registry) Unmarshal(data []byte) (Optimizer, error) { return r.r.Unmarshal(data) }

// studyJSON is the JSON form of SGD and Adam: every hyper-parameter of either, those of the other one
// at zero, the layout the study's settings have been written in since the first run. Run fingerprints
// are hashes of the settings' JSON, so keeping the layout keeps the fingerprints, and with them every
// checkpoint and result saved before the registry.
type studyJSON struct {
	LR, Momentum, Beta1, Beta2, Eps, Clip float64
}

// MarshalJSON encodes o in the layout of the study's settings (studyJSON); encoding/json decodes it
// into an SGD, ignoring Adam's fields.
func (o SGD) MarshalJSON() ([]byte, error) {
	return json.Marshal(studyJSON{LR: o.LR, Momentum: o.Momentum, Clip: o.Clip})
}

// MarshalJSON encodes o in the layout of the study's settings (studyJSON); encoding/json decodes it
// into an Adam, ignoring SGD's Momentum.
func (o Adam) MarshalJSON() ([]byte, error) {
	return json.Marshal(studyJSON{LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, Clip: o.Clip})
}
