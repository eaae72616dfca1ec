package brainio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/bpdl/bpdl/bpdl/brainscore/brainio/internal/hdf5"
)

// pureDimension starts the NAME attribute netCDF-4 gives a dimension scale that is only a dimension, not
// also a coordinate variable.
const pureDimension = "This is a netCDF dimension but not a netCDF variable"

// hiddenAttrs are bookkeeping attributes of netCDF-4, HDF5 dimension scales and CF encoding that
// ReadAssembly consumes instead of reporting in Assembly.Attrs.
var hiddenAttrs = map[string]bool{
	"CLASS": true, "NAME": true, "REFERENCE_LIST": true, "DIMENSION_LIST": true,
	"_Netcdf4Dimid": true, "_Netcdf4Coordinates": true, "_NCProperties": true, "_nc3_strict": true,
	"_IsNetcdf4": true, "_SuperblockVersion": true,
	"_FillValue": true, "missing_value": true, "scale_factor": true, "add_offset": true, "coordinates": true,
}

// ReadAssembly reads the BrainIO assembly in the root group of the netCDF-4 file at path.
//
// The data variable is the one variable that is neither a dimension coordinate nor named in another
// variable's "coordinates" attribute (xarray's rule for open_dataarray). Its values are converted to
// float64, with _FillValue and missing_value elements set to NaN and scale_factor and add_offset applied.
// Every other variable becomes a coordinate; one- and zero-dimensional variables (and character arrays
// of strings) are supported. Coordinates keep their stored values: unlike xarray, ReadAssembly does not
// decode CF times ("days since ...") or mask coordinate fill values. As brainio's loader does, an assembly with an image_id coordinate along
// presentation but no stimulus_id gets stimulus_id as a copy of image_id.
func ReadAssembly(path string) (*Assembly, error) {
	return ReadAssemblyGroup(path, "")
}

// ReadAssemblyGroup reads the assembly stored in the netCDF group with the given slash-separated path
// ("" or "/" for the root group), as brainio's writer does when given a group name (its packaged
// "extras").
func ReadAssemblyGroup(path, group string) (*Assembly, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("brainio: reading assembly: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("brainio: reading assembly: %w", err)
	}
	a, err := readAssembly(fh, st.Size(), group)
	if err != nil {
		return nil, fmt.Errorf("brainio: reading assembly %s: %w", path, err)
	}
	return a, nil
}

// variable is one netCDF variable of a group.
type variable struct {
	name  string
	obj   *hdf5.Object
	ds    *hdf5.Dataset
	attrs map[string]*hdf5.Attribute
	dims  []string
}

func readAssembly(r io.ReaderAt, size int64, group string) (*Assembly, error) {
	f, err := hdf5.Open(r, size)
	if err != nil {
		return nil, err
	}
	root, err := f.Root()
	if err != nil {
		return nil, err
	}
	// The group and its ancestors: dimensions are visible from the group they are defined in downwards.
	chain := []*hdf5.Object{root}
	for _, name := range strings.Split(group, "/") {
		if name == "" {
			continue
		}
		g, err := chain[len(chain)-1].Open(name)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", group, err)
		}
		if !g.IsGroup() {
			return nil, fmt.Errorf("%q is not a group", group)
		}
		chain = append(chain, g)
	}
	dimNames := map[uint64]string{} // dimension scale object address -> dimension name
	var vars []*variable
	for level, g := range chain {
		links, err := g.Links()
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			obj, err := f.Object(l.Addr)
			if err != nil {
				return nil, fmt.Errorf("variable %q: %w", l.Name, err)
			}
			if !obj.IsDataset() {
				continue
			}
			v, pure, err := describeVariable(l.Name, obj)
			if err != nil {
				return nil, err
			}
			if v.attrs["CLASS"] != nil && attrString(v.attrs["CLASS"]) == "DIMENSION_SCALE" {
				dimNames[obj.Addr] = l.Name
			}
			if level == len(chain)-1 && !pure {
				vars = append(vars, v)
			}
		}
	}
	if len(vars) == 0 {
		return nil, errors.New("no variables: not a netCDF-4 assembly")
	}
	for _, v := range vars {
		if err := v.resolveDims(f, dimNames); err != nil {
			return nil, err
		}
	}
	data, err := pickDataVariable(vars, dimNames)
	if err != nil {
		return nil, err
	}
	return buildAssembly(f, chain[len(chain)-1], data, vars)
}

// describeVariable decodes a dataset's description and attributes; pure reports a dimension scale that
// is only a dimension.
func describeVariable(name string, obj *hdf5.Object) (*variable, bool, error) {
	ds, err := obj.Dataset()
	if err != nil {
		return nil, false, fmt.Errorf("variable %q: %w", name, err)
	}
	attrs, err := obj.Attributes()
	if err != nil {
		return nil, false, fmt.Errorf("variable %q: attributes: %w", name, err)
	}
	v := &variable{name: name, obj: obj, ds: ds, attrs: map[string]*hdf5.Attribute{}}
	for _, a := range attrs {
		v.attrs[a.Name] = a
	}
	pure := false
	if a := v.attrs["NAME"]; a != nil && v.attrs["CLASS"] != nil {
		pure = strings.HasPrefix(attrString(a), pureDimension)
	}
	return v, pure, nil
}

// resolveDims names the variable's dimensions from its DIMENSION_LIST attribute: for each dimension, a
// reference to the dimension scale that labels it.
func (v *variable) resolveDims(f *hdf5.File, dimNames map[uint64]string) error {
	rank := len(v.ds.Space.Dims)
	if _, ok := dimNames[v.obj.Addr]; ok {
		if rank != 1 {
			return fmt.Errorf("variable %q: a dimension coordinate of rank %d", v.name, rank)
		}
		v.dims = []string{v.name}
		return nil
	}
	if rank == 0 {
		return nil
	}
	a := v.attrs["DIMENSION_LIST"]
	if a == nil {
		return fmt.Errorf("variable %q: no DIMENSION_LIST attribute naming its %d dimensions (not a netCDF-4 file?)", v.name, rank)
	}
	refs, err := a.ObjectRefs()
	if err != nil {
		return fmt.Errorf("variable %q: %w", v.name, err)
	}
	if len(refs) != rank {
		return fmt.Errorf("variable %q: DIMENSION_LIST names %d dimensions for a variable of rank %d", v.name, len(refs), rank)
	}
	v.dims = make([]string, rank)
	for i, r := range refs {
		if len(r) == 0 {
			return fmt.Errorf("variable %q: dimension %d has no dimension scale", v.name, i)
		}
		name, ok := dimNames[r[0]]
		if !ok {
			return fmt.Errorf("variable %q: dimension %d refers to object %#x, which is not a dimension scale in scope", v.name, i, r[0])
		}
		v.dims[i] = name
	}
	return nil
}

// pickDataVariable finds the one variable that is not a coordinate.
func pickDataVariable(vars []*variable, dimNames map[uint64]string) (*variable, error) {
	coords := map[string]bool{}
	for _, name := range dimNames {
		coords[name] = true
	}
	for _, v := range vars {
		if a := v.attrs["coordinates"]; a != nil {
			for _, name := range strings.Fields(attrString(a)) {
				coords[name] = true
			}
		}
	}
	var cands []*variable
	var names []string
	for _, v := range vars {
		if !coords[v.name] {
			cands = append(cands, v)
			names = append(names, v.name)
		}
	}
	switch len(cands) {
	case 1:
		return cands[0], nil
	case 0:
		return nil, errors.New("every variable is a coordinate: no data variable")
	}
	slices.Sort(names)
	return nil, fmt.Errorf("more than one data variable (%s): not a single assembly", strings.Join(names, ", "))
}

func buildAssembly(f *hdf5.File, g *hdf5.Object, data *variable, vars []*variable) (*Assembly, error) {
	a := &Assembly{
		Dims:   slices.Clone(data.dims),
		Coords: map[string]Coord{},
		Attrs:  map[string]string{},
	}
	if a.Dims == nil {
		a.Dims = []string{}
	}
	for _, n := range data.ds.Space.Dims {
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("data variable %q: dimension of %d elements is too large", data.name, n)
		}
		a.Shape = append(a.Shape, int(n))
	}
	if a.Shape == nil {
		a.Shape = []int{}
	}
	vals, err := data.ds.Read()
	if err != nil {
		return nil, fmt.Errorf("data variable %q: %w", data.name, err)
	}
	switch {
	case vals.Floats != nil:
		a.Data = vals.Floats
	case vals.Ints != nil:
		a.Data = make([]float64, len(vals.Ints))
		for i, x := range vals.Ints {
			a.Data[i] = float64(x)
		}
	case vals.Strings != nil:
		a.Values = vals.Strings
	default:
		return nil, fmt.Errorf("data variable %q holds %v, neither numbers nor strings", data.name, data.ds.Type)
	}
	if a.Data != nil {
		if err := decodeCF(a.Data, data); err != nil {
			return nil, err
		}
	}
	size := map[string]int{}
	for i, d := range a.Dims {
		size[d] = a.Shape[i]
	}
	for _, v := range vars {
		if v == data {
			continue
		}
		c, err := readCoord(v)
		if err != nil {
			return nil, err
		}
		if n, ok := size[c.Dim]; ok && c.Len() != n {
			return nil, fmt.Errorf("coordinate %q has %d values along %q of length %d", v.name, c.Len(), c.Dim, n)
		}
		a.Coords[v.name] = c
	}
	if img, ok := a.Coords["image_id"]; ok && img.Dim == "presentation" {
		if _, ok := a.Coords["stimulus_id"]; !ok {
			a.Coords["stimulus_id"] = img
		}
	}
	groupAttrs, err := g.Attributes()
	if err != nil {
		return nil, fmt.Errorf("group attributes: %w", err)
	}
	for _, at := range groupAttrs {
		addAttr(a.Attrs, at)
	}
	for _, at := range data.attrs {
		addAttr(a.Attrs, at)
	}
	a.Identifier = a.Attrs["identifier"]
	a.StimulusSetIdentifier = a.Attrs["stimulus_set_identifier"]
	return a, nil
}

// decodeCF applies the CF conventions xarray decodes by default: fill and missing values become NaN,
// then scale_factor and add_offset are applied.
func decodeCF(data []float64, v *variable) error {
	for _, name := range []string{"_FillValue", "missing_value"} {
		at := v.attrs[name]
		if at == nil {
			continue
		}
		fills, err := attrFloats(at)
		if err != nil {
			return fmt.Errorf("data variable %q: %w", v.name, err)
		}
		for _, fill := range fills {
			if math.IsNaN(fill) {
				continue
			}
			for i, x := range data {
				if x == fill {
					data[i] = math.NaN()
				}
			}
		}
	}
	scale, offset := 1.0, 0.0
	if at := v.attrs["scale_factor"]; at != nil {
		s, err := attrFloats(at)
		if err != nil || len(s) != 1 {
			return fmt.Errorf("data variable %q: scale_factor is not one number", v.name)
		}
		scale = s[0]
	}
	if at := v.attrs["add_offset"]; at != nil {
		o, err := attrFloats(at)
		if err != nil || len(o) != 1 {
			return fmt.Errorf("data variable %q: add_offset is not one number", v.name)
		}
		offset = o[0]
	}
	if scale != 1 || offset != 0 {
		for i := range data {
			data[i] = data[i]*scale + offset
		}
	}
	return nil
}

func readCoord(v *variable) (Coord, error) {
	vals, err := v.ds.Read()
	if err != nil {
		return Coord{}, fmt.Errorf("coordinate %q: %w", v.name, err)
	}
	c := Coord{Strings: vals.Strings, Floats: vals.Floats, Ints: vals.Ints}
	switch len(v.dims) {
	case 0:
	case 1:
		c.Dim = v.dims[0]
	case 2:
		// A character array: NC_CHAR strings along the first dimension.
		if v.ds.Type.Class != hdf5.ClassString || v.ds.Type.Size != 1 {
			return Coord{}, fmt.Errorf("coordinate %q has 2 dimensions %v; only 1-dimensional coordinates (and character arrays) are supported", v.name, v.dims)
		}
		n, w := int(v.ds.Space.Dims[0]), int(v.ds.Space.Dims[1])
		joined := make([]string, n)
		for i := range joined {
			joined[i] = strings.Join(vals.Strings[i*w:(i+1)*w], "")
		}
		c.Strings = joined
		c.Dim = v.dims[0]
	default:
		return Coord{}, fmt.Errorf("coordinate %q has %d dimensions %v; only 1-dimensional coordinates are supported", v.name, len(v.dims), v.dims)
	}
	switch {
	case c.Strings != nil, c.Floats != nil, c.Ints != nil:
	default:
		c.Ints = []int64{}
	}
	return c, nil
}

// attrString returns a string attribute's value, or "" when it is not a string.
func attrString(a *hdf5.Attribute) string {
	v, err := a.Values()
	if err != nil || len(v.Strings) != 1 {
		return ""
	}
	return v.Strings[0]
}

func attrFloats(a *hdf5.Attribute) ([]float64, error) {
	v, err := a.Values()
	if err != nil {
		return nil, err
	}
	switch {
	case v.Floats != nil:
		return v.Floats, nil
	case v.Ints != nil:
		out := make([]float64, len(v.Ints))
		for i, x := range v.Ints {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("attribute %q is not numeric", a.Name)
}

// addAttr records a user attribute as a string; several values are joined by ", ". Attributes of types
// that cannot be shown as text (compound, opaque, ...) are left out.
func addAttr(m map[string]string, a *hdf5.Attribute) {
	if hiddenAttrs[a.Name] {
		return
	}
	v, err := a.Values()
	if err != nil {
		return
	}
	var parts []string
	switch {
	case v.Strings != nil:
		parts = v.Strings
	case v.Floats != nil:
		for _, x := range v.Floats {
			parts = append(parts, strconv.FormatFloat(x, 'g', -1, 64))
		}
	default:
		for _, x := range v.Ints {
			parts = append(parts, strconv.FormatInt(x, 10))
		}
	}
	m[a.Name] = strings.Join(parts, ", ")
}
