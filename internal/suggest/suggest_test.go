package suggest

import "testing"

func TestClosest(t *testing.T) {
	known := []string{"allowOrigins", "allowMethods", "maxAge", "check", "explain"}
	tests := []struct{ name, in, want string }{
		{"another case is the same name", "ALLOWORIGINS", "allowOrigins"},
		{"snake case is the same name", "allow_origins", "allowOrigins"},
		{"one letter missing is one edit", "allowOrigin", "allowOrigins"},
		{"two edits still match", "maxAg3e", "maxAge"},
		{"a command with a typo", "chek", "check"},
		{"nothing close gives nothing", "policies", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Closest(tt.in, known); got != tt.want {
				t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
