// Package duet_test holds the tests about the module as a whole.
package duet_test

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// TestNoMutablePackageState fails when a package outside cmd/ keeps state in a
// package-level variable: state there is shared by every server, hub and test in the
// process, so dependencies are passed in instead (a Handler's Config, a Hub's
// fields). It loads every package of the module (test files aside) and reports a
// package-level var that
//
//   - is assigned, incremented or decremented outside its declaration, or has an
//     element or field assigned, also through the pointer it holds (init functions
//     included);
//   - has its address taken, or a pointer method called on it (which takes it);
//   - is of a type that exists to change: a map, a channel, anything of package sync
//     or sync/atomic (or a pointer, array or struct holding one);
//   - gets its value from package sync (sync.OnceValue and the like: a cache).
//
// Values that are set once and only read (tables, regexps, error sentinels such as
// errors.New's, embedded files) pass. So do calls of a pointer's methods, which may
// or may not change what it points to: testdata/mutablestate shows what is caught.
func TestNoMutablePackageState(t *testing.T) {
	t.Parallel()
	pkgs := mustLoad(t, "./...")
	checked := 0
	for _, p := range pkgs {
		if p.Module != nil && (p.PkgPath == p.Module.Path+"/cmd" || strings.HasPrefix(p.PkgPath, p.Module.Path+"/cmd/")) {
			continue
		}
		if len(p.Errors) > 0 || p.Module == nil {
			t.Errorf("package %s does not load: %v", p.PkgPath, p.Errors)
			continue
		}
		checked++
		for _, f := range mutablePackageVars(p) {
			t.Errorf("%s", f)
		}
	}
	if checked == 0 {
		t.Fatalf("no package outside cmd/ was checked (loaded %d)", len(pkgs))
	}
}

// mustLoad loads the packages of pattern with their syntax and types, test files
// aside. Packages that do not compile come back with their Errors set.
func mustLoad(t *testing.T, pattern string) []*packages.Package {
	t.Helper()
	cfg := &packages.Config{
		Context: t.Context(),
		Mode: packages.NeedName | packages.NeedModule | packages.NeedFiles | packages.NeedSyntax |
			packages.NeedTypes | packages.NeedTypesInfo | packages.NeedImports,
	}
	pkgs, err := packages.Load(cfg, pattern)
	if err != nil {
		t.Fatalf("load %s: %v", pattern, err)
	}
	return pkgs
}

// mutablePackageVars returns, sorted, one line per finding in p:
// "file:line: var name: why".
func mutablePackageVars(p *packages.Package) []string {
	scope := p.Types.Scope()
	isPkgVar := func(obj types.Object) bool {
		v, ok := obj.(*types.Var)
		return ok && v.Parent() == scope
	}
	found := map[string]bool{}
	report := func(pos token.Pos, v types.Object, why string) {
		at := p.Fset.Position(pos)
		file := at.Filename
		if rel, err := filepath.Rel(p.Module.Dir, file); err == nil {
			file = rel
		}
		found[fmt.Sprintf("%s:%d: var %s.%s: %s", file, at.Line, p.Name, v.Name(), why)] = true
	}

	for _, name := range scope.Names() {
		if v, ok := scope.Lookup(name).(*types.Var); ok {
			if what := changingType(v.Type(), p.Module.Path, map[types.Type]bool{}); what != "" {
				report(v.Pos(), v, "its type is "+what)
			}
		}
	}

	// root is the package-level variable an expression stands in, or is a part of
	// (an element, a field, what it points to).
	var root func(e ast.Expr) types.Object
	root = func(e ast.Expr) types.Object {
		switch e := e.(type) {
		case *ast.Ident:
			if obj := p.TypesInfo.ObjectOf(e); obj != nil && isPkgVar(obj) {
				return obj
			}
		case *ast.SelectorExpr:
			if _, ok := p.TypesInfo.Selections[e]; ok {
				return root(e.X) // a field of something
			}
			if obj := p.TypesInfo.ObjectOf(e.Sel); obj != nil && isPkgVar(obj) {
				return obj // pkg.Var
			}
		case *ast.IndexExpr:
			return root(e.X)
		case *ast.IndexListExpr:
			return root(e.X)
		case *ast.StarExpr:
			return root(e.X)
		case *ast.ParenExpr:
			return root(e.X)
		}
		return nil
	}
	for _, f := range p.Syntax {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GenDecl:
				if n.Tok != token.VAR {
					return true
				}
				for _, spec := range n.Specs {
					for _, value := range spec.(*ast.ValueSpec).Values {
						if call, ok := ast.Unparen(value).(*ast.CallExpr); ok {
							if fn := calledFunc(p.TypesInfo, call); fn != nil && fn.Pkg() != nil && (fn.Pkg().Path() == "sync" || fn.Pkg().Path() == "sync/atomic") {
								for _, name := range spec.(*ast.ValueSpec).Names {
									if obj := p.TypesInfo.Defs[name]; obj != nil && isPkgVar(obj) {
										report(name.Pos(), obj, "its value comes from "+fn.FullName())
									}
								}
							}
						}
					}
				}
			case *ast.AssignStmt:
				for _, lhs := range n.Lhs {
					if v := root(lhs); v != nil {
						report(lhs.Pos(), v, "assigned ("+n.Tok.String()+")")
					}
				}
			case *ast.IncDecStmt:
				if v := root(n.X); v != nil {
					report(n.X.Pos(), v, "changed ("+n.Tok.String()+")")
				}
			case *ast.RangeStmt:
				if n.Tok == token.ASSIGN {
					for _, e := range []ast.Expr{n.Key, n.Value} {
						if v := root(e); e != nil && v != nil {
							report(e.Pos(), v, "assigned by range")
						}
					}
				}
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					if v := root(n.X); v != nil {
						report(n.Pos(), v, "its address is taken")
					}
				}
			case *ast.SelectorExpr:
				// x.M() with a pointer receiver on a variable that is not a pointer
				// takes &x: the method may change it.
				sel, ok := p.TypesInfo.Selections[n]
				if !ok || sel.Kind() != types.MethodVal {
					return true
				}
				recv := sel.Obj().(*types.Func).Signature().Recv()
				if _, ptrRecv := recv.Type().(*types.Pointer); !ptrRecv {
					return true
				}
				if _, ptrVar := sel.Recv().Underlying().(*types.Pointer); ptrVar {
					return true
				}
				if v := root(n.X); v != nil {
					report(n.Pos(), v, "a pointer method ("+n.Sel.Name+") is called on it")
				}
			}
			return true
		})
	}
	out := make([]string, 0, len(found))
	for f := range found {
		out = append(out, f)
	}
	slices.Sort(out)
	return out
}

// calledFunc is the function or method a call calls, if it is a named one.
func calledFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fun := ast.Unparen(call.Fun)
	if ix, ok := fun.(*ast.IndexExpr); ok { // f[T](…)
		fun = ix.X
	}
	var id *ast.Ident
	switch f := fun.(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

// changingType says why values of type t exist to change ("a map", "sync.Mutex"), or
// returns "" for other types. It looks inside the types of module (the module's
// path) only: another package's struct may guard itself with a mutex (a parsed
// template does) without being state of ours.
func changingType(t types.Type, module string, seen map[types.Type]bool) string {
	if seen[t] {
		return ""
	}
	seen[t] = true
	if n, ok := t.(*types.Named); ok && n.Obj().Pkg() != nil {
		path := n.Obj().Pkg().Path()
		if path == "sync" || path == "sync/atomic" {
			return path + "." + n.Obj().Name()
		}
		if _, isMap := n.Underlying().(*types.Map); !isMap && path != module && !strings.HasPrefix(path, module+"/") {
			if _, isChan := n.Underlying().(*types.Chan); !isChan {
				return ""
			}
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Map:
		return "a map"
	case *types.Chan:
		return "a channel"
	case *types.Pointer:
		if what := changingType(u.Elem(), module, seen); what != "" {
			return "a pointer to " + what
		}
	case *types.Array:
		if what := changingType(u.Elem(), module, seen); what != "" {
			return "an array of " + what
		}
	case *types.Struct:
		for i := range u.NumFields() {
			if what := changingType(u.Field(i).Type(), module, seen); what != "" {
				return "a struct holding " + what
			}
		}
	}
	return ""
}

// TestMutablePackageVars holds the checker to testdata/mutablestate: every var named
// bad* is reported, none named ok*.
func TestMutablePackageVars(t *testing.T) {
	t.Parallel()
	pkgs := mustLoad(t, "./testdata/mutablestate")
	if len(pkgs) != 1 || len(pkgs[0].Errors) > 0 {
		t.Fatalf("load testdata/mutablestate: %v", pkgs)
	}
	p := pkgs[0]
	got := map[string]bool{}
	for _, f := range mutablePackageVars(p) {
		_, rest, _ := strings.Cut(f, ": var mutablestate.")
		name, _, _ := strings.Cut(rest, ":")
		got[name] = true
		t.Log(f)
	}
	for _, name := range p.Types.Scope().Names() {
		if _, ok := p.Types.Scope().Lookup(name).(*types.Var); !ok {
			continue
		}
		if !strings.HasPrefix(name, "bad") && !strings.HasPrefix(name, "ok") {
			continue
		}
		if want := strings.HasPrefix(name, "bad"); got[name] != want {
			t.Errorf("var %s reported = %v, want %v", name, got[name], want)
		}
	}
}

// TestLayers holds the packages to the arrows of docs/architecture.md: each package
// may import, of duet's own, only what is listed for it (a package not listed may
// import nothing of duet's). The arrows point one way, so that the engine and the
// stores can be tested alone, views never do I/O and the hub never renders HTML.
func TestLayers(t *testing.T) {
	t.Parallel()
	allowed := map[string][]string{
		"accounts":        {"store"},
		"bus/redisbus":    {"collab"},
		"collab":          {"collab/history", "collab/ot", "collab/people", "store"},
		"collab/history":  {"collab/ot", "store"},
		"collab/replay":   {"collab/history", "collab/ot", "collab/people", "store"},
		"handlers":        {"accounts", "collab", "collab/people", "collab/replay", "questions", "static", "views"},
		"metrics":         {"collab"},
		"questions":       {"store"},
		"store/postgres":  {"store"},
		"store/sqlite":    {"store"},
		"store/storetest": {"store"},
		"cmd/buildassets": {"assets"},
	}
	pkgs := mustLoad(t, "./...")
	arrows := 0
	for _, p := range pkgs {
		if p.Module == nil {
			continue
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p.PkgPath, p.Module.Path), "/")
		if rel == "cmd/duet" || strings.HasPrefix(rel, "cmd/duetload") || strings.HasPrefix(rel, "testdata/") {
			continue // the binaries wire everything; testdata holds fixtures
		}
		for imp := range p.Imports {
			if !strings.HasPrefix(imp, p.Module.Path+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, p.Module.Path+"/")
			arrows++
			if !slices.Contains(allowed[rel], dep) {
				t.Errorf("%s imports %s: not one of its arrows %v (docs/architecture.md)", rel, dep, allowed[rel])
			}
		}
	}
	if arrows == 0 {
		t.Fatalf("no import between duet's packages was seen: the check would prove nothing")
	}
}
