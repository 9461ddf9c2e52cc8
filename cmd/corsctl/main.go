// Command corsctl checks and explains the CORS policies of the corswasm
// plugin on a laptop or in CI, with the plugin's own engine (package
// filter): its verdicts are the module's verdicts.
//
//	corsctl check config.json envoy.yaml
//	corsctl explain --config config.json --origin https://app.example.com --method PUT --header content-type
//	corsctl import virtualservice.yaml > config.json
//	corsctl report --config config.json proxy.stats proxy.log
//
// Run "corsctl help" for every option. It reads local files only.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/corswasm/corswasm/internal/suggest"
)

// Exit statuses.
const (
	exitOK       = 0
	exitProblem  = 1 // check found errors; explain's request is blocked; import could not convert
	exitUsage    = 2 // bad usage, unreadable or unusable input
	programName  = "corsctl"
	helpHint     = `run "corsctl help" for usage`
	commandsHelp = `corsctl checks and explains CORS policies of the corswasm plugin with the
plugin's own engine, so its verdicts are the module's verdicts. It reads
local files only.

Usage:
  corsctl check [--format text|json] [--strict] [--filter NAME] FILE...
  corsctl explain --config FILE --origin ORIGIN [--method M] [--header H]...
                  [--url URL | --host H --path P] [--preflight] [--format text|curl|json]
  corsctl import [--strict] FILE...
  corsctl report [--config FILE] [--format text|json] FILE...
  corsctl render [--config FILE] [--check] [FILE...]
  corsctl help [COMMAND]

FILE is the plugin's JSON configuration (config.json), an Envoy
configuration whose Wasm HTTP filter carries it (envoy.yaml), or an Istio
WasmPlugin manifest (its spec.pluginConfig); "-" reads standard input.

Examples:
  corsctl check config.json envoy.yaml
  corsctl check --format json --strict deploy/wasmplugin.yaml
  corsctl explain --config config.json --origin https://app.example.com \
      --url https://api.example.com/v1/things --method PUT --header content-type
  corsctl explain --config envoy.yaml --origin https://evil.example --format curl
  corsctl import istio/virtualservices.yaml > config.json
  corsctl report --config config.json proxy-a.stats proxy-b.stats proxy.log

report reads the stats and logs of proxies running the plugin in report
mode and says whether the policy is safe to enforce, or what to change.
render writes the policy of config.json into every artifact of the
repository that carries it (envoy.yaml, the deploy/ manifests).

Exit status: 0 when all is well; 1 when check finds errors, explain's
request is blocked, import cannot convert, report finds requests that
would break, or render --check finds an artifact that differs; 2 for bad
usage or input that cannot be read.
`
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, commandsHelp)
		return exitUsage
	}
	env := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "check":
		return env.check(rest)
	case "explain":
		return env.explain(rest)
	case "import":
		return env.importCmd(rest)
	case "report":
		return env.reportCmd(rest)
	case "render":
		return env.renderCmd(rest)
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			if u, ok := commandUsage[rest[0]]; ok {
				fmt.Fprint(stdout, u)
				return exitOK
			}
			return env.usageError("unknown command %q; the commands are check, explain, import, report and render", rest[0])
		}
		fmt.Fprint(stdout, commandsHelp)
		return exitOK
	default:
		if strings.HasPrefix(cmd, "-") {
			return env.usageError("%s: flags go after the command, as in \"corsctl check --format json config.json\"", cmd)
		}
		msg := fmt.Sprintf("unknown command %q; the commands are check, explain, import, report and render", cmd)
		if s := suggest.Closest(cmd, []string{"check", "explain", "import", "report", "render", "help"}); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return env.usageError("%s", msg)
	}
}

// env is where a command reads and writes.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// usageError reports bad usage and points to help.
func (e *env) usageError(format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n%s\n", programName, fmt.Sprintf(format, a...), helpHint)
	return exitUsage
}

// failf reports a problem that stops the command.
func (e *env) failf(status int, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s\n", programName, fmt.Sprintf(format, a...))
	return status
}

// readFile reads name, or standard input for "-", with a friendly error.
func (e *env) readFile(name string) ([]byte, error) {
	var data []byte
	var err error
	if name == "-" {
		name = "standard input"
		data, err = io.ReadAll(e.stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %v", name, err)
	}
	return data, nil
}

// commandUsage is each command's help text.
var commandUsage = map[string]string{
	"check":   checkUsage,
	"explain": explainUsage,
	"import":  importUsage,
	"report":  reportUsage,
	"render":  renderUsage,
}

// newFlags makes a flag set that reports errors through parse.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses flags placed anywhere among the arguments and returns the
// positional ones. It returns help true for -h/--help.
func parse(fs *flag.FlagSet, args []string) (positional []string, help bool, err error) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, true, nil
			}
			return nil, false, friendlyFlagError(fs, err)
		}
		if fs.NArg() == 0 {
			return positional, false, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// friendlyFlagError rewords the flag package's errors with --flags and a
// suggestion for a misspelt one.
func friendlyFlagError(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		msg = "unknown flag --" + name
		if s := suggest.Closest(name, known); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		msg = "flag --" + name + " needs a value"
	} else {
		msg = strings.Replace(msg, "for flag -", "for --", 1)
	}
	return fmt.Errorf("%s: %s", fs.Name(), msg)
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// formatFlag is --format, restricted to a set of values.
type formatFlag struct {
	value   string
	allowed []string
}

func (f *formatFlag) String() string { return f.value }
func (f *formatFlag) Set(v string) error {
	for _, a := range f.allowed {
		if v == a {
			f.value = v
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(f.allowed, ", "))
}
