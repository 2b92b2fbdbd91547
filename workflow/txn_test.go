package workflow_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/onboarder/onboarder/store"
)

// TestTxnShadowsNoStoreCall keeps a txn method from taking the name of a
// store method it would hide, so that tx.SetLinkStatus does what store
// says and a guard or a webhook event shows in the method's name.
func TestTxnShadowsNoStoreCall(t *testing.T) {
	storeMethods := map[string]string{}
	for _, typ := range []reflect.Type{reflect.TypeOf(&store.Deferred{}), reflect.TypeOf(&store.Q{})} {
		for i := range typ.NumMethod() {
			storeMethods[typ.Method(i).Name] = typ.String()
		}
	}
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var own, shadowing []string
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || recvName(fn.Recv.List[0].Type) != "txn" {
				continue
			}
			own = append(own, fn.Name.Name)
			if of, ok := storeMethods[fn.Name.Name]; ok {
				shadowing = append(shadowing, fset.Position(fn.Pos()).String()+": txn."+fn.Name.Name+" hides "+of+"."+fn.Name.Name)
			}
		}
	}
	if len(own) == 0 || len(storeMethods) == 0 {
		t.Fatalf("found %d txn methods and %d store methods; the test reads the wrong files", len(own), len(storeMethods))
	}
	sort.Strings(shadowing)
	for _, s := range shadowing {
		t.Error(s)
	}
}

// recvName is the type name of a method receiver such as *txn.
func recvName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestStoreMovesOnlyThroughTheTable: outside states.go no workflow code
// calls the store's SetRequestState, SetLinkStatus or InsertLink itself,
// which would move a record without the transition table's guard and
// without its webhook event (tx.moveRequest, tx.moveLink and
// tx.recordLink do both).
func TestStoreMovesOnlyThroughTheTable(t *testing.T) {
	guarded := map[string]string{"SetRequestState": "moveRequest", "SetLinkStatus": "moveLink", "InsertLink": "recordLink"}
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	calls := 0
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			want, ok := guarded[sel.Sel.Name]
			if !ok {
				return true
			}
			calls++
			if path != "states.go" {
				t.Errorf("%s: %s called directly; use tx.%s", fset.Position(sel.Pos()), sel.Sel.Name, want)
			}
			return true
		})
	}
	if calls == 0 {
		t.Fatal("no store move found at all; the test reads the wrong files")
	}
}
