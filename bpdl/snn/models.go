package snn

import "github.com/bpdl/bpdl/bpdl/internal/kinds"

// Models is a registry of neuron models: it maps a name ("lif", "li") to a constructor that returns a
// model of one type with its default parameters, and gives every model of a registered type a JSON
// form, {"Kind": name, ...the fields of its type's JSON object}, which Unmarshal turns back into the same
// value. It is what a program that chooses or stores a net's models by name consults (package study
// names the models of an exported net by it). A registry is a plain value: DefaultModels returns a new
// one holding bpdl's models, to which a program adds its own with Register.
type Models struct {
	r *kinds.Registry[Neuron]
}

// DefaultModels returns the neuron models bpdl ships, with the study's parameters: "lif" (StudyLIF)
// and "li" (StudyLI). A new model is one file holding its type plus one line here (or one Register
// call in the program that uses it).
func DefaultModels() *Models {
	r := &Models{kinds.New[Neuron]("snn", "neuron model")}
	for _, e := range []struct {
		name string
		new  func() Neuron
	}{
		{"lif", func() Neuron { return StudyLIF() }},
		{"li", func() Neuron { return StudyLI() }},
	} {
		if err := r.Register(e.name, e.new); err != nil {
			panic(err) // the entries above are fixed: a clash is a bug every test catches
		}
	}
	return r
}

// Register adds a neuron model type under name, new making a model with its default parameters (what
// New returns, and what Unmarshal decodes a document into). The name must be new and not empty, new
// must return a non-nil model, and its type must not be registered under another name (Marshal finds a
// model's name by its type).
func (r *Models) Register(name string, new func() Neuron) error { return r.r.Register(name, new) }

// Names lists the registered models in the order they were registered.
func (r *Models) Names() []string { return r.r.Names() }

// New returns the named model with its default parameters.
func (r *Models) New(name string) (Neuron, error) { return r.r.New(name) }

// Name returns the name n's type is registered under.
func (r *Models) Name(n Neuron) (string, bool) { return r.r.Name(n) }

// Marshal encodes n as JSON: {"Kind": the name its type is registered under, then the fields of n's own
// JSON object}.
func (r *Models) Marshal(n Neuron) ([]byte, error) { return r.r.Marshal(n) }

// Unmarshal decodes what Marshal encodes, starting from the constructor of the document's Kind (fields
// the document lacks keep its values). It does not validate the parameters (Neuron.Validate does).
func (r *Models) Unmarshal(data []byte) (Neuron, error) { return r.r.Unmarshal(data) }
