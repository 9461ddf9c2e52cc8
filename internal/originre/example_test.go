package originre_test

import (
	"fmt"

	"github.com/corswasm/corswasm/internal/originre"
)

func ExampleCompile() {
	re, err := originre.Compile(`https://pr-[0-9]+\.preview\.example\.com`)
	if err != nil {
		panic(err)
	}
	fmt.Println(re.MatchString("https://pr-7.preview.example.com"))
	fmt.Println(re.MatchString("https://pr-7.preview.example.com.evil.net")) // the whole origin must match

	_, err = originre.Compile(`(?i)https://app\.example\.com`)
	fmt.Println(err)
	// Output:
	// true
	// false
	// flags `(?i)` at offset 0: flags are not supported; origins reach the filter in lower case, as browsers serialize them, and on one line: write the expression in lower case
}
