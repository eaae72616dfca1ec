package metric

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Split is one train/test partition of the images (or, for ceilings, of the repetitions), by index.
type Split struct {
	Train []int `json:"train"`
	Test  []int `json:"test"`
}

// SplitSpec says how to draw random splits, with scikit-learn's ShuffleSplit and
// StratifiedShuffleSplit semantics.
//
// With n items, a TrainSize t gives floor(t*n) training items and a TestSize s gives ceil(s*n) test
// items (in float64 arithmetic, as Python computes them). A size of 0 stands for scikit-learn's None:
// the complement of the other size. When both are 0 the test size is 0.1.
type SplitSpec struct {
	// Splits is the number of splits to draw.
	Splits int
	// TrainSize is the training fraction in (0, 1), or 0 for the complement of the test set.
	TrainSize float64
	// TestSize is the test fraction in (0, 1), or 0 for the complement of the training set.
	TestSize float64
	// Seed seeds the NumPy-compatible generator (scikit-learn's random_state).
	Seed uint32
}

// BrainScoreSplitSpec returns the cross-validation Brain-Score's neural predictivity metrics use: ten
// splits, 90% of the images for training and the rest for testing (train_size=0.9, test_size=None),
// random_state=1; stratified by object when labels are available.
func BrainScoreSplitSpec() SplitSpec { return SplitSpec{Splits: 10, TrainSize: 0.9, Seed: 1} }

// sizes returns the number of training and test items for n items, or an error where scikit-learn's
// _validate_shuffle_split raises one.
func (s SplitSpec) sizes(n int) (nTrain, nTest int, err error) {
	if s.Splits < 1 {
		return 0, 0, fmt.Errorf("need at least one split, got %d", s.Splits)
	}
	for _, v := range []struct {
		name string
		f    float64
	}{{"train size", s.TrainSize}, {"test size", s.TestSize}} {
		if v.f < 0 || v.f >= 1 || math.IsNaN(v.f) {
			return 0, 0, fmt.Errorf("%s %v is not a fraction in (0, 1) (or 0 for the complement)", v.name, v.f)
		}
	}
	train, test := s.TrainSize, s.TestSize
	if train == 0 && test == 0 {
		test = 0.1
	}
	if train > 0 && test > 0 && train+test > 1 {
		return 0, 0, fmt.Errorf("train size %v plus test size %v exceeds 1", train, test)
	}
	fn := float64(n)
	if test > 0 {
		nTest = int(math.Ceil(test * fn))
	}
	if train > 0 {
		nTrain = int(math.Floor(train * fn))
	}
	if train == 0 {
		nTrain = n - nTest
	} else if test == 0 {
		nTest = n - nTrain
	}
	if nTrain+nTest > n {
		return 0, 0, fmt.Errorf("%d training plus %d test items exceed the %d items", nTrain, nTest, n)
	}
	if nTrain <= 0 || nTest <= 0 {
		return 0, 0, fmt.Errorf("with %d items, train size %v and test size %v leave an empty training or test set", n, s.TrainSize, s.TestSize)
	}
	return nTrain, nTest, nil
}

// ShuffleSplit draws s.Splits random splits of n items exactly as scikit-learn's
// ShuffleSplit(n_splits, train_size, test_size, random_state=s.Seed) does: each split is a fresh
// permutation of 0..n-1 whose first nTest entries are the test set and the next nTrain the training set.
func ShuffleSplit(n int, s SplitSpec) ([]Split, error) {
	nTrain, nTest, err := s.sizes(n)
	if err != nil {
		return nil, fmt.Errorf("metric: shuffle split: %w", err)
	}
	rng := NewRandomState(s.Seed)
	out := make([]Split, s.Splits)
	for k := range out {
		perm := rng.Perm(n)
		out[k] = Split{
			Train: slices.Clone(perm[nTest : nTest+nTrain]),
			Test:  slices.Clone(perm[:nTest]),
		}
	}
	return out, nil
}

// StratifiedShuffleSplit draws s.Splits random splits that keep each class's share of the items, exactly
// as scikit-learn's StratifiedShuffleSplit(n_splits, train_size, test_size, random_state=s.Seed)
// does for the class labels y (any integers; classes are taken in increasing label order).
//
// For each split the number of training items per class is the approximate mode of the multivariate
// hypergeometric distribution (see approximateMode), then the test counts likewise from what is left;
// each class's items (in increasing index order) are permuted and its first training-count items go to
// training and the next test-count items to test; finally the training and test lists are each permuted.
// All draws come, in that order, from one generator seeded with s.Seed.
func StratifiedShuffleSplit(y []int, s SplitSpec) ([]Split, error) {
	n := len(y)
	nTrain, nTest, err := s.sizes(n)
	if err != nil {
		return nil, fmt.Errorf("metric: stratified shuffle split: %w", err)
	}
	classes := slices.Clone(y)
	slices.Sort(classes)
	classes = slices.Compact(classes)
	counts := make([]int, len(classes))
	members := make([][]int, len(classes))
	for i, label := range y {
		c, _ := slices.BinarySearch(classes, label)
		counts[c]++
		members[c] = append(members[c], i)
	}
	if slices.Min(counts) < 2 {
		return nil, errors.New("metric: stratified shuffle split: the least populated class has only 1 member; every class needs at least 2")
	}
	if nTrain < len(classes) {
		return nil, fmt.Errorf("metric: stratified shuffle split: %d training items are fewer than the %d classes", nTrain, len(classes))
	}
	if nTest < len(classes) {
		return nil, fmt.Errorf("metric: stratified shuffle split: %d test items are fewer than the %d classes", nTest, len(classes))
	}
	rng := NewRandomState(s.Seed)
	out := make([]Split, s.Splits)
	remaining := make([]int, len(classes))
	for k := range out {
		trainCounts := approximateMode(counts, nTrain, rng)
		for i := range counts {
			remaining[i] = counts[i] - trainCounts[i]
		}
		testCounts := approximateMode(remaining, nTest, rng)
		train := make([]int, 0, nTrain)
		test := make([]int, 0, nTest)
		for i, m := range members {
			perm := rng.Perm(len(m))
			for j, p := range perm {
				switch {
				case j < trainCounts[i]:
					train = append(train, m[p])
				case j < trainCounts[i]+testCounts[i]:
					test = append(test, m[p])
				}
			}
		}
		rng.Shuffle(train)
		rng.Shuffle(test)
		out[k] = Split{Train: train, Test: test}
	}
	return out, nil
}

// approximateMode returns how many of nDraws draws without replacement fall in each class, approximating
// the mode of the multivariate hypergeometric distribution as scikit-learn's _approximate_mode does: each
// class first gets floor(count/total*nDraws); the draws still missing go to the classes with the largest
// fractional remainders, largest first, and where several classes share a remainder value and not all of
// them can get one, the ones that do are chosen by rng (a choice without replacement among them, in
// increasing class order).
func approximateMode(counts []int, nDraws int, rng *RandomState) []int {
	total := 0
	for _, c := range counts {
		total += c
	}
	floored := make([]int, len(counts))
	remainder := make([]float64, len(counts))
	need := nDraws
	for i, c := range counts {
		cont := float64(c) / float64(total) * float64(nDraws)
		f := math.Floor(cont)
		floored[i] = int(f)
		remainder[i] = cont - f
		need -= int(f)
	}
	if need <= 0 {
		return floored
	}
	values := slices.Clone(remainder)
	sort.Sort(sort.Reverse(sort.Float64Slice(values)))
	values = slices.Compact(values)
	for _, v := range values {
		var inds []int
		for i, r := range remainder {
			if r == v {
				inds = append(inds, i)
			}
		}
		add := min(len(inds), need)
		for _, i := range rng.ChooseWithoutReplacement(inds, add) {
			floored[i]++
		}
		need -= add
		if need == 0 {
			break
		}
	}
	return floored
}

// BrainScoreSplits returns the cross-validation splits Brain-Score draws for n images: stratified by
// the labels (each image's object, as integer codes) when labels is non-nil, otherwise plain shuffle
// splits; ten splits of 90% training images and the rest test, random_state=1.
func BrainScoreSplits(n int, labels []int) ([]Split, error) {
	if labels == nil {
		return ShuffleSplit(n, BrainScoreSplitSpec())
	}
	if len(labels) != n {
		return nil, fmt.Errorf("metric: %d labels for %d images", len(labels), n)
	}
	return StratifiedShuffleSplit(labels, BrainScoreSplitSpec())
}

// LabelCodes maps category names (such as each image's object_name) to integer codes in sorted order of
// the distinct names, which is the order NumPy's unique (and so scikit-learn's stratification) uses.
func LabelCodes(names []string) []int {
	distinct := slices.Clone(names)
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	codes := make([]int, len(names))
	for i, s := range names {
		codes[i], _ = slices.BinarySearch(distinct, s)
	}
	return codes
}

// CheckSplits reports an error unless every split's training and test indices are in [0, n) and no index
// appears twice within a split.
func CheckSplits(splits []Split, n int) error {
	seen := make([]int, n)
	for k, s := range splits {
		if len(s.Train) == 0 || len(s.Test) == 0 {
			return fmt.Errorf("metric: split %d has an empty training or test set", k)
		}
		for _, part := range [][]int{s.Train, s.Test} {
			for _, i := range part {
				if i < 0 || i >= n {
					return fmt.Errorf("metric: split %d has index %d outside [0, %d)", k, i, n)
				}
				if seen[i] == k+1 {
					return fmt.Errorf("metric: split %d uses index %d twice", k, i)
				}
				seen[i] = k + 1
			}
		}
	}
	return nil
}
