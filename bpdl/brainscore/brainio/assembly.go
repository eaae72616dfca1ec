package brainio

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Assembly is a labelled N-dimensional array of neural or behavioural data, as BrainIO stores it.
type Assembly struct {
	// Identifier names the assembly (for example "dicarlo.MajajHong2015.public"), from its identifier
	// attribute; empty when the file has none.
	Identifier string
	// StimulusSetIdentifier names the stimulus set the assembly's presentations refer to, from its
	// stimulus_set_identifier attribute; empty when the file has none.
	StimulusSetIdentifier string
	// Dims are the dimension names in storage order, for example presentation, neuroid, time_bin.
	Dims []string
	// Shape is the length of each dimension.
	Shape []int
	// Data holds the values in row-major order over Dims (the last dimension varies fastest). It is nil
	// when the data variable holds strings.
	Data []float64
	// Values holds the data in the same order when the data variable holds strings (behavioural
	// assemblies such as dicarlo.Rajalingham2018.public, whose data are the objects chosen); nil otherwise.
	// The selection and averaging helpers work on numeric data only.
	Values []string
	// Coords holds every coordinate variable of the file, including the MultiIndex levels that brainio
	// stores as plain coordinates along a dimension.
	Coords map[string]Coord
	// Attrs holds the global attributes and the data variable's attributes (the latter win on a clash),
	// as strings, without the netCDF and HDF5 bookkeeping attributes.
	Attrs map[string]string
}

// Coord is a coordinate: one label per position along a dimension. Exactly one of the slices is set.
type Coord struct {
	// Dim is the dimension the coordinate runs along; empty for a scalar coordinate.
	Dim     string
	Strings []string
	Floats  []float64
	Ints    []int64
}

// Len is the number of values of the coordinate.
func (c Coord) Len() int {
	switch {
	case c.Strings != nil:
		return len(c.Strings)
	case c.Floats != nil:
		return len(c.Floats)
	}
	return len(c.Ints)
}

// Key returns value i as a string, for grouping and selecting by value whatever the coordinate's type:
// strings as they are, integers in decimal, floats in the shortest form that reads back exactly.
func (c Coord) Key(i int) string {
	switch {
	case c.Strings != nil:
		return c.Strings[i]
	case c.Floats != nil:
		return strconv.FormatFloat(c.Floats[i], 'g', -1, 64)
	}
	return strconv.FormatInt(c.Ints[i], 10)
}

// Float returns value i as a number; strings are parsed, and are NaN when they do not parse.
func (c Coord) Float(i int) float64 {
	switch {
	case c.Strings != nil:
		v, err := strconv.ParseFloat(c.Strings[i], 64)
		if err != nil {
			return math.NaN()
		}
		return v
	case c.Floats != nil:
		return c.Floats[i]
	}
	return float64(c.Ints[i])
}

// subset returns the coordinate's values at idx, in that order.
func (c Coord) subset(idx []int) Coord {
	out := Coord{Dim: c.Dim}
	switch {
	case c.Strings != nil:
		out.Strings = make([]string, len(idx))
		for i, j := range idx {
			out.Strings[i] = c.Strings[j]
		}
	case c.Floats != nil:
		out.Floats = make([]float64, len(idx))
		for i, j := range idx {
			out.Floats[i] = c.Floats[j]
		}
	default:
		out.Ints = make([]int64, len(idx))
		for i, j := range idx {
			out.Ints[i] = c.Ints[j]
		}
	}
	return out
}

// numeric reports an error for an assembly whose data are strings, which the selection and averaging
// helpers do not handle.
func (a *Assembly) numeric() error {
	if a.Data == nil && a.Values != nil {
		return fmt.Errorf("brainio: assembly %s holds strings, not numbers", a.Identifier)
	}
	return nil
}

// Axis returns the position of dimension dim in Dims, or -1.
func (a *Assembly) Axis(dim string) int { return slices.Index(a.Dims, dim) }

// At returns the value at the given index, one entry per dimension.
func (a *Assembly) At(index ...int) float64 {
	if len(index) != len(a.Shape) {
		panic(fmt.Sprintf("brainio: At: %d indices for %d dimensions", len(index), len(a.Shape)))
	}
	off := 0
	for i, x := range index {
		if x < 0 || x >= a.Shape[i] {
			panic(fmt.Sprintf("brainio: At: index %d out of range [0,%d) in dimension %s", x, a.Shape[i], a.Dims[i]))
		}
		off = off*a.Shape[i] + x
	}
	return a.Data[off]
}

// coordAlong returns the coordinate name, checking that it runs along a dimension of the assembly.
func (a *Assembly) coordAlong(name string) (Coord, int, error) {
	c, ok := a.Coords[name]
	if !ok {
		return Coord{}, 0, fmt.Errorf("brainio: assembly %s has no coordinate %q", a.Identifier, name)
	}
	k := a.Axis(c.Dim)
	if k < 0 {
		return Coord{}, 0, fmt.Errorf("brainio: coordinate %q runs along %q, which is not a dimension of the assembly (%v)", name, c.Dim, a.Dims)
	}
	return c, k, nil
}

// blocks returns the number of outer blocks and the inner block length around axis k.
func (a *Assembly) blocks(k int) (outer, inner int) {
	outer, inner = 1, 1
	for i, n := range a.Shape {
		switch {
		case i < k:
			outer *= n
		case i > k:
			inner *= n
		}
	}
	return outer, inner
}

// SelectIndices returns the assembly restricted to the positions idx along dimension dim, in that order
// (positions may repeat). Coordinates along dim are subset to match.
func (a *Assembly) SelectIndices(dim string, idx []int) (*Assembly, error) {
	if err := a.numeric(); err != nil {
		return nil, err
	}
	k := a.Axis(dim)
	if k < 0 {
		return nil, fmt.Errorf("brainio: assembly has no dimension %q (it has %v)", dim, a.Dims)
	}
	for _, j := range idx {
		if j < 0 || j >= a.Shape[k] {
			return nil, fmt.Errorf("brainio: index %d out of range [0,%d) along %q", j, a.Shape[k], dim)
		}
	}
	outer, inner := a.blocks(k)
	out := a.withAxis(k, len(idx))
	out.Data = make([]float64, outer*len(idx)*inner)
	for o := range outer {
		for i, j := range idx {
			copy(out.Data[(o*len(idx)+i)*inner:][:inner], a.Data[(o*a.Shape[k]+j)*inner:][:inner])
		}
	}
	for name, c := range a.Coords {
		if c.Dim == dim {
			out.Coords[name] = c.subset(idx)
		}
	}
	return out, nil
}

// withAxis returns a copy of a's metadata (not its data) with axis k of length n and no coordinates
// along it.
func (a *Assembly) withAxis(k, n int) *Assembly {
	out := &Assembly{
		Identifier:            a.Identifier,
		StimulusSetIdentifier: a.StimulusSetIdentifier,
		Dims:                  slices.Clone(a.Dims),
		Shape:                 slices.Clone(a.Shape),
		Coords:                make(map[string]Coord, len(a.Coords)),
		Attrs:                 make(map[string]string, len(a.Attrs)),
	}
	out.Shape[k] = n
	for name, c := range a.Coords {
		if c.Dim != a.Dims[k] {
			out.Coords[name] = c
		}
	}
	for k, v := range a.Attrs {
		out.Attrs[k] = v
	}
	return out
}

// Where returns the assembly restricted to the positions along coordinate coord's dimension where the
// coordinate's value (see Coord.Key) is one of values; for example Where("region", "V4") keeps the V4
// neuroids. It is an error when nothing matches.
func (a *Assembly) Where(coord string, values ...string) (*Assembly, error) {
	c, k, err := a.coordAlong(coord)
	if err != nil {
		return nil, err
	}
	var idx []int
	for i := range a.Shape[k] {
		if slices.Contains(values, c.Key(i)) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("brainio: no %s has %s in %q", c.Dim, coord, values)
	}
	return a.SelectIndices(c.Dim, idx)
}

// GroupMean averages the assembly over the positions along coord's dimension that share a value of
// coord (for example GroupMean("stimulus_id") averages repetitions of each stimulus). Groups are ordered
// by first appearance. NaNs are skipped, as xarray's mean does; a group of only NaNs gives NaN.
//
// The result keeps coord and every other coordinate along the dimension whose value is the same
// throughout each group (such as object_name when grouping by stimulus_id); coordinates that vary
// within a group (such as repetition) are dropped.
func (a *Assembly) GroupMean(coord string) (*Assembly, error) {
	if err := a.numeric(); err != nil {
		return nil, err
	}
	c, k, err := a.coordAlong(coord)
	if err != nil {
		return nil, err
	}
	var groups [][]int
	index := map[string]int{}
	for i := range a.Shape[k] {
		key := c.Key(i)
		g, ok := index[key]
		if !ok {
			g = len(groups)
			index[key] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	out := a.reduce(k, groups)
	first := make([]int, len(groups))
	for g, members := range groups {
		first[g] = members[0]
	}
	for name, other := range a.Coords {
		if other.Dim != c.Dim {
			continue
		}
		if constantWithin(other, groups) {
			out.Coords[name] = other.subset(first)
		}
	}
	return out, nil
}

func constantWithin(c Coord, groups [][]int) bool {
	for _, members := range groups {
		for _, i := range members[1:] {
			if c.Key(i) != c.Key(members[0]) {
				return false
			}
		}
	}
	return true
}

// reduce averages, NaN-skipping, the positions of each group along axis k; the result has one
// position per group along k and no coordinates along it.
func (a *Assembly) reduce(k int, groups [][]int) *Assembly {
	outer, inner := a.blocks(k)
	out := a.withAxis(k, len(groups))
	out.Data = make([]float64, outer*len(groups)*inner)
	count := make([]int, inner)
	for o := range outer {
		for g, members := range groups {
			dst := out.Data[(o*len(groups)+g)*inner:][:inner]
			clear(count)
			for _, i := range members {
				src := a.Data[(o*a.Shape[k]+i)*inner:][:inner]
				for j, v := range src {
					if !math.IsNaN(v) {
						dst[j] += v
						count[j]++
					}
				}
			}
			for j := range dst {
				if count[j] == 0 {
					dst[j] = math.NaN()
				} else {
					dst[j] /= float64(count[j])
				}
			}
		}
	}
	return out
}

// MeanOver averages the assembly over dimension dim (NaN-skipping) and removes the dimension and its
// coordinates.
func (a *Assembly) MeanOver(dim string) (*Assembly, error) {
	if err := a.numeric(); err != nil {
		return nil, err
	}
	k := a.Axis(dim)
	if k < 0 {
		return nil, fmt.Errorf("brainio: assembly has no dimension %q (it has %v)", dim, a.Dims)
	}
	all := make([]int, a.Shape[k])
	for i := range all {
		all[i] = i
	}
	out := a.reduce(k, [][]int{all})
	out.Dims = slices.Delete(out.Dims, k, k+1)
	out.Shape = slices.Delete(out.Shape, k, k+1)
	return out, nil
}

// MeanTimeBins averages over the time bins that lie within [start, end] milliseconds, judged by the
// time_bin_start and time_bin_end coordinates, and removes the time_bin dimension: Brain-Score's
// 70-170 ms window is MeanTimeBins(70, 170). It is an error when no bin lies in the window.
func (a *Assembly) MeanTimeBins(start, end float64) (*Assembly, error) {
	lo, _, err := a.coordAlong("time_bin_start")
	if err != nil {
		return nil, err
	}
	hi, k, err := a.coordAlong("time_bin_end")
	if err != nil {
		return nil, err
	}
	if lo.Dim != hi.Dim {
		return nil, fmt.Errorf("brainio: time_bin_start runs along %q but time_bin_end along %q", lo.Dim, hi.Dim)
	}
	var idx []int
	for i := range a.Shape[k] {
		if lo.Float(i) >= start && hi.Float(i) <= end {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, fmt.Errorf("brainio: no time bin lies within [%g, %g] ms", start, end)
	}
	sel, err := a.SelectIndices(lo.Dim, idx)
	if err != nil {
		return nil, err
	}
	return sel.MeanOver(lo.Dim)
}
