package notify

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// A compiled template renders the common subset of the template language
// that the built-in templates use — text, fields of the data, the date,
// datetime and len functions, with — straight from its parse tree, without
// text/template's per-execution lookups of fields and methods by name: a
// round renders tens of thousands of orders, and text/template cost most
// of that. A template using anything else is not compiled and
// text/template renders it; so does a compiled one that meets a nil
// pointer, for text/template's error. The output is text/template's, byte
// for byte (tested on every built-in template).
type compiled struct {
	ops []op
}

// op writes its part of the output for dot.
type op func(b *strings.Builder, dot reflect.Value) error

// errFallback says text/template must render this data.
var errFallback = errors.New("notify: fall back to text/template")

var (
	timeType     = reflect.TypeFor[time.Time]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
	errorType    = reflect.TypeFor[error]()
)

// compile compiles t for data of type dot; nil when t uses what compile
// does not handle.
func compile(t *template.Template, dot reflect.Type) *compiled {
	if t.Tree == nil || t.Root == nil || len(t.Templates()) != 1 {
		return nil
	}
	ops, ok := compileList(t.Root, dot)
	if !ok {
		return nil
	}
	return &compiled{ops: ops}
}

// execute renders data (a Data) into b.
func (c *compiled) execute(b *strings.Builder, data reflect.Value) error {
	for _, o := range c.ops {
		if err := o(b, data); err != nil {
			return err
		}
	}
	return nil
}

func compileList(l *parse.ListNode, dot reflect.Type) ([]op, bool) {
	if l == nil {
		return nil, true
	}
	var ops []op
	for _, n := range l.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			text := string(n.Text)
			ops = append(ops, func(b *strings.Builder, _ reflect.Value) error {
				b.WriteString(text)
				return nil
			})
		case *parse.ActionNode:
			if len(n.Pipe.Decl) > 0 {
				return nil, false
			}
			eval, typ, ok := compilePipe(n.Pipe, dot)
			if !ok || !printable(typ) {
				return nil, false
			}
			ops = append(ops, func(b *strings.Builder, dot reflect.Value) error {
				v, err := eval(dot)
				if err != nil {
					return err
				}
				writeValue(b, v)
				return nil
			})
		case *parse.WithNode:
			if len(n.Pipe.Decl) > 0 {
				return nil, false
			}
			eval, typ, ok := compilePipe(n.Pipe, dot)
			if !ok || !truthTestable(typ) {
				return nil, false
			}
			then, ok := compileList(n.List, typ)
			if !ok {
				return nil, false
			}
			els, ok := compileList(n.ElseList, dot)
			if !ok {
				return nil, false
			}
			ops = append(ops, func(b *strings.Builder, dot reflect.Value) error {
				v, err := eval(dot)
				if err != nil {
					return err
				}
				list, in := els, dot
				if truth(v) {
					list, in = then, v
				}
				for _, o := range list {
					if err := o(b, in); err != nil {
						return err
					}
				}
				return nil
			})
		default:
			return nil, false
		}
	}
	return ops, true
}

// compilePipe compiles a pipeline of one command: a field chain, dot, or a
// call of date, datetime or len on one.
func compilePipe(p *parse.PipeNode, dot reflect.Type) (func(reflect.Value) (reflect.Value, error), reflect.Type, bool) {
	if p == nil || len(p.Cmds) != 1 {
		return nil, nil, false
	}
	args := p.Cmds[0].Args
	if id, ok := args[0].(*parse.IdentifierNode); ok {
		if len(args) != 2 {
			return nil, nil, false
		}
		arg, typ, ok := compileOperand(args[1], dot)
		if !ok {
			return nil, nil, false
		}
		switch id.Ident {
		case "date", "datetime":
			f, ok := funcs[id.Ident].(func(time.Time) string)
			if !ok || typ != timeType {
				return nil, nil, false
			}
			return func(dot reflect.Value) (reflect.Value, error) {
				v, err := arg(dot)
				if err != nil {
					return reflect.Value{}, err
				}
				return reflect.ValueOf(f(v.Interface().(time.Time))), nil
			}, reflect.TypeFor[string](), true
		case "len":
			switch typ.Kind() {
			case reflect.Slice, reflect.String, reflect.Map, reflect.Array:
			default:
				return nil, nil, false
			}
			return func(dot reflect.Value) (reflect.Value, error) {
				v, err := arg(dot)
				if err != nil {
					return reflect.Value{}, err
				}
				return reflect.ValueOf(v.Len()), nil
			}, reflect.TypeFor[int](), true
		}
		return nil, nil, false
	}
	if len(args) != 1 {
		return nil, nil, false
	}
	return compileOperand(args[0], dot)
}

// compileOperand compiles dot or a chain of fields from dot (through
// non-nil pointers to structs; no methods of those names).
func compileOperand(n parse.Node, dot reflect.Type) (func(reflect.Value) (reflect.Value, error), reflect.Type, bool) {
	switch n := n.(type) {
	case *parse.DotNode:
		return func(dot reflect.Value) (reflect.Value, error) { return dot, nil }, dot, true
	case *parse.FieldNode:
		typ := dot
		var path [][]int
		var ptr []bool
		for _, name := range n.Ident {
			isPtr := typ.Kind() == reflect.Pointer
			if isPtr {
				typ = typ.Elem()
			}
			if typ.Kind() != reflect.Struct {
				return nil, nil, false
			}
			if _, ok := typ.MethodByName(name); ok {
				return nil, nil, false
			}
			if _, ok := reflect.PointerTo(typ).MethodByName(name); ok {
				return nil, nil, false
			}
			f, ok := typ.FieldByName(name)
			if !ok || !f.IsExported() {
				return nil, nil, false
			}
			path, ptr = append(path, f.Index), append(ptr, isPtr)
			typ = f.Type
		}
		return func(v reflect.Value) (reflect.Value, error) {
			for i, idx := range path {
				if ptr[i] {
					if v.IsNil() {
						return reflect.Value{}, errFallback
					}
					v = v.Elem()
				}
				v = v.FieldByIndex(idx)
			}
			return v, nil
		}, typ, true
	}
	return nil, nil, false
}

// printable: printed by fmt.Fprint as its string or decimal value.
func printable(t reflect.Type) bool {
	if t.Implements(stringerType) || t.Implements(errorType) ||
		reflect.PointerTo(t).Implements(stringerType) || reflect.PointerTo(t).Implements(errorType) {
		return false
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

func writeValue(b *strings.Builder, v reflect.Value) {
	if v.Kind() == reflect.String {
		b.WriteString(v.String())
		return
	}
	b.WriteString(strconv.FormatInt(v.Int(), 10))
}

// truthTestable: with tests it as text/template does, by truth.
func truthTestable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// truth is text/template's truth of a string or an integer.
func truth(v reflect.Value) bool {
	if v.Kind() == reflect.String {
		return v.Len() > 0
	}
	return v.Int() != 0
}
