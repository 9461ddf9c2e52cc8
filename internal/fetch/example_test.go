package fetch_test

import (
	"fmt"

	"github.com/corswasm/corswasm/internal/fetch"
)

func ExampleNormalizeMethod() {
	fmt.Println(fetch.NormalizeMethod("delete"), fetch.NormalizeMethod("patch"))
	// Output: DELETE patch
}

func ExampleIsForbiddenRequestHeader() {
	fmt.Println(fetch.IsForbiddenRequestHeader("Cookie"), fetch.IsForbiddenRequestHeader("sec-ch-ua"), fetch.IsForbiddenRequestHeader("x-token"))
	// Output: true true false
}
