package graph

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carrierwatch/carrierwatch/internal/graphtest"
)

// generatedTenant is a tenant of n users shaped like a university: 80 %
// with a mobile phone (a tenth of those with an alternate one), 2 % with an
// office phone, 40 % with an authenticator app, 30 % with a self-service
// reset e-mail, 1 % disabled.
func generatedTenant(n int) graphtest.Tenant {
	t := graphtest.Tenant{PhoneMethods: map[string][]graphtest.Phone{}, EmailMethods: map[string][]graphtest.Email{}}
	for i := range n {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i)
		upn := fmt.Sprintf("user%06d@example.ac.jp", i)
		lang := "ja-JP"
		mail := upn
		u := graphtest.User{ID: id, UserPrincipalName: upn, DisplayName: "User " + strconv.Itoa(i), Mail: &mail,
			OtherMails: []string{fmt.Sprintf("user%06d@mail.example.com", i)}, PreferredLanguage: &lang, AccountEnabled: i%100 != 99}
		t.Users = append(t.Users, u)
		if !u.AccountEnabled {
			continue
		}
		var methods []string
		var phones []graphtest.Phone
		if i%10 < 8 {
			methods = append(methods, "mobilePhone")
			phones = append(phones, graphtest.Phone{ID: "3179e48a-750b-4051-897c-87b9720928f7", PhoneNumber: fmt.Sprintf("+81 90%08d", i), PhoneType: "mobile", SMSSignInState: "notAllowedByPolicy"})
			if i%100 < 8 {
				methods = append(methods, "alternateMobilePhone")
				phones = append(phones, graphtest.Phone{ID: "b6332ec1-7057-4abe-9331-3d72feddfe41", PhoneNumber: fmt.Sprintf("+81 80%08d", i), PhoneType: "alternateMobile", SMSSignInState: "notAllowedByPolicy"})
			}
		} else if i%50 == 48 {
			methods = append(methods, "officePhone")
			phones = append(phones, graphtest.Phone{ID: "e37fc753-ff3b-4958-9484-eae9a2a0c71e", PhoneNumber: fmt.Sprintf("+81 3%08d", i), PhoneType: "office", SMSSignInState: "notAllowedByPolicy"})
		}
		if i%5 < 2 {
			methods = append(methods, "microsoftAuthenticatorPush", "softwareOneTimePasscode")
		}
		if i%10 >= 7 {
			methods = append(methods, "email")
			t.EmailMethods[id] = []graphtest.Email{{EmailAddress: fmt.Sprintf("user%06d.reset@mail.example.jp", i)}}
		}
		t.UserRegistrationDetails = append(t.UserRegistrationDetails, graphtest.Registration{
			ID: id, UserPrincipalName: upn, UserDisplayName: u.DisplayName, UserType: "member",
			IsMfaRegistered: len(methods) > 0, IsMfaCapable: len(methods) > 0, MethodsRegistered: methods,
			IsSystemPreferredAuthenticationMethodEnabled: true, SystemPreferredAuthenticationMethods: []string{},
			UserPreferredMethodForSecondaryAuthentication: "sms", LastUpdatedDateTime: "2025-06-30T03:12:45Z"})
		if len(phones) > 0 {
			t.PhoneMethods[id] = phones
		}
	}
	return t
}

// BenchmarkSync100k syncs 100,000 users from the fake Graph with 20 ms of
// latency per request, with Microsoft's documented limits enforced by the
// fake (and paced by the client) and without them, reading methods from the
// report (a licensed tenant) or per user (an unlicensed one: auto falls
// back after the report's 403). Run it alone:
//
//	go test ./directory/graph -run '^$' -bench Sync100k -benchtime 1x
func BenchmarkSync100k(b *testing.B) {
	tenant := generatedTenant(100_000)
	for _, mode := range []string{MethodsRegistrationDetails, MethodsAuthenticationMethods} {
		for _, limits := range []bool{false, true} {
			b.Run("methods="+mode+"/limits="+strconv.FormatBool(limits), func(b *testing.B) {
				benchSync(b, tenant, mode == MethodsAuthenticationMethods, limits)
			})
		}
	}
}

func benchSync(b *testing.B, tenant graphtest.Tenant, unlicensed, limits bool) {
	for range b.N {
		b.StopTimer()
		f := newFakeGraph(b, tenant)
		f.SetLatency(20 * time.Millisecond)
		f.SetLimits(limits)
		f.SetUnlicensed(unlicensed)
		c, err := NewClient(fakeConfig(f), nil)
		if err != nil {
			b.Fatal(err)
		}
		if !limits {
			c.reportLimit, c.itemLimit = nil, nil
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		peak := base
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					peak = max(peak, m.HeapInuse)
				}
			}
		})
		b.StartTimer()
		start := time.Now()
		up, err := c.Fetch(context.Background(), "", nil)
		elapsed := time.Since(start)
		b.StopTimer()
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		st := f.Stats()
		requests := 0
		for _, n := range st.Requests {
			requests += n
		}
		b.ReportMetric(elapsed.Seconds(), "wall-s")
		b.ReportMetric(float64(requests), "http-requests")
		b.ReportMetric(float64(st.Items), "batch-items")
		b.ReportMetric(float64(st.Rejected), "rejected")
		b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(vmHWM())/1024, "VmHWM-MiB")
		b.Logf("mode=%s limits=%v users=%d auth=%d wall=%v requests=%v batch_items=%d rejected=%d peak_heap_over_baseline=%.0fMiB",
			up.Mode, limits, len(up.Users), len(up.Auth), elapsed.Round(time.Millisecond), st.Requests, st.Items, st.Rejected, float64(peak-base)/(1<<20))
	}
}

// vmHWM is the process's peak resident set in KiB (Linux), or 0.
func vmHWM() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
