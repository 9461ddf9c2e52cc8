package filter

import (
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // rendered value, or "error: <substring>"
	}{
		{"an object with every kind", `{"a": [1, -2.5e3, "x", true, false, null, {}]}`, `{a:[1 -2.5e3 "x" true false null {}]}`},
		{"escapes and surrogate pairs", `"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"`, `"\"\\/\b\f\n\r\té😀"`},
		{"whitespace everywhere", " \t\r\n{ \"a\" : [ ] } \n", `{a:[]}`},
		{"a lone surrogate", `"\ud83d"`, "error: surrogate"},
		{"a bad escape", `"\x"`, `error: invalid escape "\\x"`},
		{"an unterminated string", `"abc`, "error: unterminated string"},
		{"a leading zero", `01`, `error: invalid number "01"`},
		{"a bare minus", `-`, `error: invalid number "-"`},
		{"a dot without digits", `1.`, `error: invalid number "1."`},
		{"a missing comma", `[1 2]`, "error: expected ',' or ']'"},
		{"a missing colon", `{"a" 1}`, "error: expected ':'"},
		{"an unquoted key", `{a: 1}`, "error: expected a field name in double quotes"},
		{"a trailing comma in an object", `{"a": 1,}`, "error: expected a field name"},
		{"nothing", ``, "error: unexpected end of input"},
		{"a position on the second line", "{\n  \"a\": tru}", "error: invalid JSON at line 2, column 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := parseJSON([]byte(tt.in))
			got := ""
			if err != nil {
				got = "error: " + err.Error()
				if !strings.HasPrefix(tt.want, "error: ") || !strings.Contains(got, strings.TrimPrefix(tt.want, "error: ")) {
					t.Errorf("got %s, want %s", got, tt.want)
				}
				return
			}
			if got = renderJSON(v); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func renderJSON(v jsonValue) string {
	switch v.kind {
	case jsonNull:
		return "null"
	case jsonBool:
		if v.boolean {
			return "true"
		}
		return "false"
	case jsonNumber:
		return v.text
	case jsonString:
		return `"` + strings.NewReplacer(`"`, `\"`, `\`, `\\`, "\b", `\b`, "\f", `\f`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(v.text) + `"`
	case jsonArray:
		parts := make([]string, len(v.items))
		for i, item := range v.items {
			parts[i] = renderJSON(item)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	parts := make([]string, len(v.members))
	for i, m := range v.members {
		parts[i] = m.key + ":" + renderJSON(m.value)
	}
	return "{" + strings.Join(parts, " ") + "}"
}
