package templates_test

import (
	"fmt"

	"github.com/onboarder/onboarder/templates"
)

func ExampleSet_Render() {
	set, err := templates.Load("") // built-ins only; pass ONBOARDER_TEMPLATES_DIR to override
	if err != nil {
		panic(err)
	}
	m, err := set.Render(templates.KindRequestReceived, "de", templates.Data{
		Reference:     "REQ-000123",
		ThreadSubject: "Re: Please establish reseller connection to customer Müller GmbH\r\nBcc: x@example.com [REQ-000123]",
		CustomerName:  "Müller GmbH",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Subject)
	// Output: Re: Please establish reseller connection to customer Müller GmbH Bcc: x@example.com [REQ-000123]
}
