// Package nb is what the GoNB notebooks in this folder share, so that each notebook starts with one short
// setup cell and its other cells show the study rather than plumbing:
//
//   - train.go reads MNIST and trains a learner of train.DefaultRegistry the way the study does, and
//     reports the run (Train, Run.Report);
//   - check.go and matrix.go let a notebook compute a learning rule's update by hand and set it beside
//     bpdl's: a net with the weights and rule tensors the rule draws, a real mini-batch, float64 matrix
//     helpers over gonum for the equations, and the rule's own graph for the library's answer (NewCheck,
//     Check.Library);
//   - brain.go finds the brain data and formats the brain scores of notebook 06;
//   - charts.go turns results into echarts charts that work offline, and runs into summaries;
//   - this file finds the bpdl checkout a notebook runs in, and shows a declaration of its source by file
//     and line.
//
// It implements no learning rule, metric or benchmark: the notebooks call packages rules, train, study and
// brainscore for those.
package nb

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Module is the module path of the bpdl checkout that Root looks for.
const Module = "github.com/bpdl/bpdl"

// RootEnvVar names the checkout explicitly; when unset, Root walks up from the working directory.
const RootEnvVar = "BPDL_ROOT"

// Root returns the root of the bpdl checkout: $BPDL_ROOT when set, else the first folder at or above the
// working directory (GoNB runs cells in the notebook's folder) whose go.mod declares Module.
func Root() (string, error) {
	if r := os.Getenv(RootEnvVar); r != "" {
		return filepath.Abs(r)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("nb: no go.mod of module %s at or above the working directory; set %s", Module, RootEnvVar)
		}
		dir = parent
	}
}

func isRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 && fields[0] == "module" {
			return fields[1] == Module
		}
	}
	return false
}

// Snippet is one declaration of the bpdl source: where it is and its text, doc comment included.
type Snippet struct {
	File           string // relative to the checkout's root, with forward slashes
	Line, LastLine int    // 1-based, inclusive, from the doc comment to the end of the declaration
	Doc            string // the doc comment's text, without comment markers
	Text           string // the source lines Line..LastLine
}

// Ref is "file:line-lastline", the snippet's location.
func (s Snippet) Ref() string { return fmt.Sprintf("%s:%d-%d", s.File, s.Line, s.LastLine) }

// String is the location, a blank line and the source.
func (s Snippet) String() string { return s.Ref() + "\n\n" + s.Text }

// ErrNotFound is wrapped by the error Source returns for a name the package does not declare.
var ErrNotFound = errors.New("declaration not found")

// Source finds the declaration name in the package folder pkg (relative to the checkout's root, e.g.
// "bpdl/rules"), in its non-test files. name is a top-level function, type, variable or constant ("BP",
// "NewFA", "Paper") or a method as Type.Method ("FA.Updates"); a name declared inside a grouped var,
// const or type block gives the whole block.
func Source(pkg, name string) (Snippet, error) {
	root, err := Root()
	if err != nil {
		return Snippet{}, err
	}
	return SourceIn(root, pkg, name)
}

// SourceIn is Source for the checkout at root.
func SourceIn(root, pkg, name string) (Snippet, error) {
	dir := filepath.Join(root, filepath.FromSlash(pkg))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return Snippet{}, fmt.Errorf("nb: package %s: %w", pkg, err)
	}
	recv, fn, isMethod := strings.Cut(name, ".")
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, n)
		}
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	for _, n := range files {
		path := filepath.Join(dir, n)
		src, err := os.ReadFile(path)
		if err != nil {
			return Snippet{}, err
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil {
			return Snippet{}, fmt.Errorf("nb: %w", err)
		}
		for _, d := range f.Decls {
			var node ast.Node
			var doc *ast.CommentGroup
			switch d := d.(type) {
			case *ast.FuncDecl:
				if isMethod != (d.Recv != nil) {
					continue
				}
				if isMethod && (d.Name.Name != fn || receiverType(d) != recv) {
					continue
				}
				if !isMethod && d.Name.Name != name {
					continue
				}
				node, doc = d, d.Doc
			case *ast.GenDecl:
				if isMethod || !declares(d, name) {
					continue
				}
				node, doc = d, d.Doc
				if len(d.Specs) > 1 || d.Lparen.IsValid() {
					// In a block: the spec's own doc if it has one, the block otherwise.
					for _, s := range d.Specs {
						if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == name && ts.Doc != nil {
							node, doc = ts, ts.Doc
						}
					}
				}
			default:
				continue
			}
			start := node.Pos()
			if doc != nil {
				start = doc.Pos()
			}
			first, last := fset.Position(start).Line, fset.Position(node.End()).Line
			rel, _ := filepath.Rel(root, path)
			sn := Snippet{File: filepath.ToSlash(rel), Line: first, LastLine: last, Text: lines(src, first, last)}
			if doc != nil {
				sn.Doc = doc.Text()
			}
			return sn, nil
		}
	}
	return Snippet{}, fmt.Errorf("nb: %s in %s: %w", name, pkg, ErrNotFound)
}

// MustSource is Source that panics on error, for notebook cells.
func MustSource(pkg, name string) Snippet {
	s, err := Source(pkg, name)
	if err != nil {
		panic(err)
	}
	return s
}

func receiverType(d *ast.FuncDecl) string {
	t := d.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

func declares(d *ast.GenDecl, name string) bool {
	for _, s := range d.Specs {
		switch s := s.(type) {
		case *ast.TypeSpec:
			if s.Name.Name == name {
				return true
			}
		case *ast.ValueSpec:
			for _, n := range s.Names {
				if n.Name == name {
					return true
				}
			}
		}
	}
	return false
}

// lines returns lines first..last (1-based, inclusive) of src, ending in a newline.
func lines(src []byte, first, last int) string {
	all := bytes.SplitAfter(src, []byte("\n"))
	var b strings.Builder
	for i := first - 1; i < last && i < len(all); i++ {
		b.Write(all[i])
	}
	s := b.String()
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}
