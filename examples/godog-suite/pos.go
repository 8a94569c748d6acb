// Package pos stands in for a team's own POS application: the code under
// test that possim's lab pays through. Here it only shows what the
// customer sees after a payment.
package pos

import "fmt"

// Payment is what the app learns from the terminal about a payment.
type Payment struct {
	Approved     bool
	ResponseCode string // field 39 of the host's answer
	ResponseText string
}

// App is the POS app's checkout screen.
type App struct{ screen string }

// Paid shows the outcome of a payment on the checkout screen.
func (a *App) Paid(p Payment) {
	if p.Approved {
		a.screen = "PAID"
		return
	}
	a.screen = fmt.Sprintf("NOT PAID: %s %s", p.ResponseCode, p.ResponseText)
}

// Screen is what the checkout screen shows.
func (a *App) Screen() string { return a.screen }
