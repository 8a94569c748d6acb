package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/possim/possim/money"
	"github.com/possim/possim/virtualdevices/printer"
)

// receiptWidth is the line width of an 80 mm printer in font A.
const receiptWidth = printer.Columns

// Receipt copies.
const (
	CopyMerchant = "merchant"
	CopyCustomer = "customer"
	CopyReprint  = "reprint"
)

// line is one receipt line with its style.
type line struct {
	text   string
	center bool
	bold   bool
	big    bool
}

// words holds the receipt vocabulary of one locale.
type words struct {
	merchantCopy, customerCopy, reprint                            string
	merchantName, merchantNo, terminalNo, cardNo, entry, cardType  string
	txnType, batch, voucher, auth, ref, dateTime, items, amount    string
	result, settlement, d0, t1, signHere, agree, noSignature, code string
	kinds                                                          map[Kind]string
	entries                                                        map[string]string
	methods                                                        map[Method]string
	partial, approved                                              string
	pinEntries                                                     string // when the PIN took more than one entry
	zh                                                             bool
}

var english = words{
	merchantCopy: "MERCHANT COPY", customerCopy: "CUSTOMER COPY", reprint: "*** REPRINT ***",
	merchantName: "MERCHANT NAME", merchantNo: "MERCHANT NO", terminalNo: "TERMINAL NO",
	cardNo: "CARD NO", entry: "ENTRY", cardType: "CARD TYPE", txnType: "TXN TYPE",
	batch: "BATCH NO", voucher: "STAN", auth: "AUTH CODE", ref: "REF NO", dateTime: "DATE/TIME",
	items: "ITEMS", amount: "AMOUNT", result: "RESULT", settlement: "SETTLEMENT",
	d0: "REAL-TIME (D0)", t1: "NEXT DAY (T+1)",
	signHere: "CARDHOLDER SIGNATURE", agree: "I AGREE TO PAY THE ABOVE TOTAL AMOUNT",
	noSignature: "NO SIGNATURE REQUIRED", code: "PAYMENT CODE", partial: "PARTIAL APPROVAL", approved: "APPROVED",
	pinEntries: "PIN ENTRIES",
	kinds: map[Kind]string{KindSale: "SALE", KindQR: "QR SALE", KindVoid: "VOID", KindRefund: "REFUND",
		KindPreAuth: "PRE-AUTH", KindCompletion: "PRE-AUTH COMPLETION"},
	entries: map[string]string{"chip": "CHIP", "tap": "CONTACTLESS", "swipe": "SWIPE", "fallback": "FALLBACK SWIPE",
		"qr": "QR CODE", "manual": "MANUAL"},
	methods: map[Method]string{Credit: "CREDIT", Debit: "DEBIT", QR: "QR WALLET"},
}

var chinese = words{
	merchantCopy: "商户存根", customerCopy: "持卡人存根", reprint: "*** 重打印 ***",
	merchantName: "商户名称", merchantNo: "商户编号", terminalNo: "终端编号",
	cardNo: "卡号", entry: "输入方式", cardType: "卡类别", txnType: "交易类型",
	batch: "批次号", voucher: "凭证号", auth: "授权码", ref: "参考号", dateTime: "日期/时间",
	items: "商品", amount: "金额", result: "结果", settlement: "结算",
	d0: "实时到账 (D0)", t1: "次日到账 (T+1)",
	signHere: "持卡人签名", agree: "本人确认以上交易,同意将其记入本卡账户",
	noSignature: "免签", code: "付款码", partial: "部分承兑", approved: "交易成功",
	pinEntries: "密码输入次数",
	kinds: map[Kind]string{KindSale: "消费", KindQR: "扫码消费", KindVoid: "消费撤销", KindRefund: "退货",
		KindPreAuth: "预授权", KindCompletion: "预授权完成"},
	entries: map[string]string{"chip": "插卡", "tap": "挥卡", "swipe": "刷卡", "fallback": "降级刷卡",
		"qr": "扫码", "manual": "手输"},
	methods: map[Method]string{Credit: "贷记卡", Debit: "借记卡", QR: "钱包"},
	zh:      true,
}

func (t *Terminal) words() (words, printer.Encoding) {
	if strings.HasPrefix(strings.ToLower(t.cfg.Profile.Locale), "zh") {
		return chinese, printer.GB18030
	}
	return english, printer.ASCII
}

// receiptLines lays out the receipt of x for one copy.
func (t *Terminal) receiptLines(x *Txn, copyName string) []line {
	w, _ := t.words()
	var ls []line
	add := func(l line) { ls = append(ls, l) }
	kv := func(k, v string) { add(line{text: pair(k+":", v)}) }
	add(line{text: t.merchant.Name, center: true, bold: true, big: true})
	switch copyName {
	case CopyMerchant:
		add(line{text: w.merchantCopy, center: true})
	case CopyCustomer:
		add(line{text: w.customerCopy, center: true})
	default:
		add(line{text: w.reprint, center: true, bold: true})
	}
	add(line{text: strings.Repeat("-", receiptWidth)})
	kv(w.merchantName, t.merchant.Name)
	kv(w.merchantNo, t.merchant.ID)
	kv(w.terminalNo, t.term.ID)
	if x.MaskedPAN != "" {
		kv(w.cardNo, x.MaskedPAN)
	}
	if x.PaymentCode != "" {
		kv(w.code, x.PaymentCode)
	}
	kv(w.entry, w.entries[x.Entry])
	if m := w.methods[x.Method]; m != "" {
		kv(w.cardType, m)
	}
	add(line{text: pair(w.txnType+":", w.kinds[x.Kind]), bold: true})
	kv(w.batch, fmt.Sprintf("%06d", x.Batch))
	kv(w.voucher, x.STAN)
	if x.AuthCode != "" {
		kv(w.auth, x.AuthCode)
	}
	if x.RRN != "" {
		kv(w.ref, x.RRN)
	}
	kv(w.dateTime, x.Time.Format("2006/01/02 15:04:05"))
	if len(x.Items) > 0 {
		add(line{text: strings.Repeat("-", receiptWidth)})
		add(line{text: w.items + ":"})
		for _, it := range x.Items {
			name := it.Name
			if w.zh && it.NameZH != "" {
				name = it.NameZH
			}
			add(line{text: pair(fmt.Sprintf(" %s x%d", name, it.Qty), money.FormatGrouped(it.Total()))})
		}
	}
	add(line{text: strings.Repeat("-", receiptWidth)})
	amount := x.Amount
	if x.Kind == KindVoid || x.Kind == KindRefund {
		amount = -amount
	}
	add(line{text: pair(w.amount+":", t.cfg.Profile.Currency+" "+money.FormatGrouped(amount)), bold: true, big: false})
	result := x.ResponseText
	if x.ResponseCode == "00" || result == "" {
		result = w.approved
	}
	if x.Partial {
		result = w.partial + " " + money.FormatGrouped(x.Amount) + "/" + money.FormatGrouped(x.Requested)
	}
	kv(w.result, result)
	if x.PINTry > 1 {
		kv(w.pinEntries, fmt.Sprint(x.PINTry))
	}
	switch x.Settlement {
	case "D0":
		kv(w.settlement, w.d0)
	case "T1":
		kv(w.settlement, w.t1)
	}
	add(line{text: ""})
	if x.CVM == "signature" {
		add(line{text: w.signHere + ":"})
		add(line{text: ""})
		add(line{text: ""})
		add(line{text: strings.Repeat("_", receiptWidth-4)})
		add(line{text: w.agree})
	} else if copyName != CopyCustomer && x.Kind != KindVoid && x.Kind != KindRefund {
		add(line{text: w.noSignature})
	}
	return ls
}

// pair puts k at the left and v at the right of one line, or on two lines
// when they do not fit.
func pair(k, v string) string {
	gap := receiptWidth - cells(k) - cells(v)
	if gap < 1 {
		return k + "\n" + strings.Repeat(" ", max(0, receiptWidth-cells(v))) + v
	}
	return k + strings.Repeat(" ", gap) + v
}

// cells counts the printed width: CJK characters take two cells.
func cells(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 && utf8.RuneLen(r) >= 3 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// render turns lines into the ESC/POS stream and the same receipt as text.
func (t *Terminal) render(ls []line) ([]byte, string) {
	_, enc := t.words()
	b := printer.NewBuilder(enc).Init()
	var text strings.Builder
	for _, l := range ls {
		if l.center {
			b.Align(printer.Center)
		}
		if l.bold {
			b.Bold(true)
		}
		if l.big {
			b.Size(2, 2)
		}
		for _, part := range strings.Split(l.text, "\n") {
			b.Line(part)
			if l.center {
				pad := max(0, (receiptWidth-cells(part))/2)
				text.WriteString(strings.Repeat(" ", pad))
			}
			text.WriteString(part)
			text.WriteByte('\n')
		}
		if l.big {
			b.Size(1, 1)
		}
		if l.bold {
			b.Bold(false)
		}
		if l.center {
			b.Align(printer.Left)
		}
	}
	b.Feed(3).Cut()
	return b.Bytes(), text.String()
}

func (t *Terminal) receipt(x *Txn, copyName string) QueuedReceipt {
	data, text := t.render(t.receiptLines(x, copyName))
	return QueuedReceipt{STAN: x.STAN, Copy: copyName, Data: data, Text: text}
}

// printTxn prints the merchant and customer copies of x, queueing them if
// the printer is not ready: the transaction stands either way.
func (t *Terminal) printTxn(ctx context.Context, x *Txn) {
	rs := []QueuedReceipt{t.receipt(x, CopyMerchant), t.receipt(x, CopyCustomer)}
	t.data.Last = []QueuedReceipt{t.receipt(x, CopyReprint)}
	t.print(ctx, rs)
	t.save()
}

// print prints rs after anything already queued, queueing what cannot be
// printed now.
func (t *Terminal) print(ctx context.Context, rs []QueuedReceipt) {
	t.data.Queued = append(t.data.Queued, rs...)
	t.flush(ctx)
}

// flush prints queued receipts in order until one fails. It returns the
// printer's complaint, or nil when the queue is empty.
func (t *Terminal) flush(ctx context.Context) error {
	if len(t.data.Queued) == 0 {
		return nil
	}
	if t.cfg.Printer == nil {
		return fmt.Errorf("%w: no printer", ErrDevice)
	}
	prev := t.State()
	t.setState(StatePrinting)
	defer t.setState(prev)
	display := t.Display()
	for len(t.data.Queued) > 0 {
		r := t.data.Queued[0]
		if err := t.cfg.Printer.Print(ctx, r.Data); err != nil {
			var nr *printer.NotReadyError
			reason := err.Error()
			if errors.As(err, &nr) {
				reason = nr.Status.Reason()
				if nr.During {
					// The printer stopped while printing: the copy may be
					// torn, so it stays queued and is printed again whole.
					reason += " while printing"
				}
			}
			msg := fmt.Sprintf("PRINTER: %s - %d RECEIPT(S) QUEUED", strings.ToUpper(reason), len(t.data.Queued))
			t.show(msg)
			t.alert(fmt.Sprintf("printer not ready (%s): %d receipt(s) queued", reason, len(t.data.Queued)))
			t.save()
			return fmt.Errorf("%w: %w", ErrDevice, err)
		}
		t.data.Queued = t.data.Queued[1:]
		t.emit(Event{Kind: EventReceipt, Text: r.Text, Fields: map[string]string{"copy": r.Copy, "stan": r.STAN}})
		t.save()
	}
	t.show(display)
	return nil
}

// FlushReceipts prints the queued receipts if the printer is ready now.
func (t *Terminal) FlushReceipts(ctx context.Context) error {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer t.ready()
	return t.flush(ctx)
}

// QueuedReceipts is how many receipts wait for the printer.
func (t *Terminal) QueuedReceipts() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.snap.Queued)
}

// Reprint prints the last transaction's receipt again, marked as a reprint.
func (t *Terminal) Reprint(ctx context.Context) error {
	ctx, end, err := t.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	defer t.ready()
	if len(t.data.Last) == 0 {
		t.show("NO RECEIPT TO REPRINT")
		return fmt.Errorf("%w: no receipt to reprint", ErrNotFound)
	}
	t.print(ctx, append([]QueuedReceipt(nil), t.data.Last...))
	t.save()
	if len(t.data.Queued) > 0 {
		return fmt.Errorf("%w: reprint queued, printer not ready", ErrDevice)
	}
	return nil
}
