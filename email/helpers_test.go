package email

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch"
)

const testFrom = "IT ヘルプ <mfa-noreply@example.ac.jp>"

func testMail(i int) *carrierwatch.Mail {
	return &carrierwatch.Mail{
		MessageID:  fmt.Sprintf("cw-42-%d@carrierwatch.example.ac.jp", i),
		To:         []string{"taro.alt@example.net", "taro.yamada@example.ac.jp"},
		Subject:    "【重要】au / UQ mobile / povo の通信障害時のサインイン方法のご案内",
		Text:       "山田 太郎 様\n\n「問題がありますか? 別の方法でサインインする」を押してください。\n" + strings.Repeat("長い行", 60) + "\n",
		HTML:       "<!DOCTYPE html>\n<html lang=\"ja\"><body><p>山田 太郎 様</p><p>&lt;script&gt;</p></body></html>\n",
		Kind:       carrierwatch.KindOutage,
		Segment:    carrierwatch.SegmentPhoneOnly,
		IncidentID: 42,
		Date:       time.Date(2022, 7, 2, 3, 0, 0, 0, time.FixedZone("JST", 9*3600)),
	}
}

// testCert returns a server TLS config with a fresh self-signed certificate
// for 127.0.0.1 and a pool that trusts it.
func testCert(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtp test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

func hostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, port
}

// parsed is a received message taken apart.
type parsed struct {
	header  netmail.Header
	subject string
	text    string
	html    string
	// partTypes are the Content-Types of the alternative parts.
	partTypes []string
}

func parseMessage(t testing.TB, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	var p parsed
	p.header = msg.Header
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	if mediaType != "multipart/alternative" {
		t.Fatalf("content type = %q, want multipart/alternative", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable, not base64
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		var r io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, part)
		}
		body, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		ct := part.Header.Get("Content-Type")
		p.partTypes = append(p.partTypes, ct)
		pt, pparams, _ := mime.ParseMediaType(ct)
		if !strings.EqualFold(pparams["charset"], "utf-8") {
			t.Errorf("part %s charset = %q, want UTF-8", pt, pparams["charset"])
		}
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		switch pt {
		case "text/plain":
			p.text = text
		case "text/html":
			p.html = text
		}
	}
	return p
}

// checkMessage asserts the contract headers and both bodies of a received m.
func checkMessage(t testing.TB, data []byte, m *carrierwatch.Mail) parsed {
	t.Helper()
	p := parseMessage(t, data)
	h := p.header
	from, err := h.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Address != "mfa-noreply@example.ac.jp" || from[0].Name != "IT ヘルプ" {
		t.Errorf("From = %v (%v)", from, err)
	}
	to, err := h.AddressList("To")
	if err != nil {
		t.Errorf("To: %v", err)
	}
	var got []string
	for _, a := range to {
		got = append(got, a.Address)
	}
	if got, want := strings.Join(got, ","), strings.Join(m.To, ","); got != want {
		t.Errorf("To = %q, want %q", got, want)
	}
	if got, want := p.subject, m.Subject; got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got, want := h.Get("Message-ID"), "<"+m.MessageID+">"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	date, err := h.Date()
	if err != nil || !date.Equal(m.Date) {
		t.Errorf("Date = %v (%v), want %v", date, err, m.Date)
	}
	for name, want := range map[string]string{
		"Auto-Submitted":          "auto-generated",
		"X-Carrierwatch-Kind":     string(m.Kind),
		"X-Carrierwatch-Segment":  string(m.Segment),
		"X-Carrierwatch-Incident": strconv.FormatInt(m.IncidentID, 10),
		"Mime-Version":            "1.0",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if got, want := len(p.partTypes), 2; got != want {
		t.Fatalf("%d parts, want %d", got, want)
	}
	if got, want := p.text, m.Text; got != want {
		t.Errorf("text part = %q, want %q", got, want)
	}
	if got, want := p.html, m.HTML; got != want {
		t.Errorf("html part = %q, want %q", got, want)
	}
	return p
}

// logBuffer is a concurrency-safe buffer for a test logger.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger() (*slog.Logger, *logBuffer) {
	b := new(logBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}
