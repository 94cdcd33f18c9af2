// OpenPGP as MIG's code needs it here, done by gpg: fingerprints of the
// fixtures' keys, the scheduler's key pair (MIG makes it at first start),
// and detached signatures in MIG's one-line form (the armor's body without
// its newlines, the checksum appended).
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

type GPG struct {
	Home string
}

func (g *GPG) run(stdin []byte, args ...string) ([]byte, error) {
	all := append([]string{"--homedir", g.Home, "--batch", "--quiet", "--no-tty",
		"--pinentry-mode", "loopback", "--passphrase", ""}, args...)
	cmd := exec.Command("gpg", all...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gpg %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

// colon listing: the first fpr record's fingerprint
func firstFingerprint(colons []byte) (string, error) {
	for _, line := range strings.Split(string(colons), "\n") {
		f := strings.Split(line, ":")
		if len(f) > 9 && f[0] == "fpr" {
			return f[9], nil
		}
	}
	return "", errors.New("no fingerprint in gpg's listing")
}

// Fingerprint of an armored public key (upper-case hex, as MIG writes it)
func (g *GPG) Fingerprint(armored []byte) (string, error) {
	out, err := g.run(armored, "--with-colons", "--import-options", "show-only", "--import")
	if err != nil {
		return "", err
	}
	return firstFingerprint(out)
}

// SecretKey: the key pair in the home (made beforehand, as MIG makes its
// own at first start), armored
func (g *GPG) SecretKey() (fpr string, pub, sec []byte, err error) {
	out, err := g.run(nil, "--with-colons", "--list-secret-keys")
	if err != nil {
		return
	}
	if fpr, err = firstFingerprint(out); err != nil {
		return
	}
	if pub, err = g.run(nil, "--armor", "--export", fpr); err != nil {
		return
	}
	sec, err = g.run(nil, "--armor", "--export-secret-keys", fpr)
	return
}

// deArmor: MIG's one-line form of an armored signature
func deArmor(sig string) (string, error) {
	i := strings.Index(sig, "\n\n")
	j := strings.Index(sig, "\n-----END")
	if i < 0 || j < i {
		return "", errors.New("not an armored signature")
	}
	return strings.Replace(sig[i+2:j], "\n", "", -1), nil
}

// Sign: a detached signature of data by fpr, in MIG's one-line form
func (g *GPG) Sign(fpr, data string) (string, error) {
	out, err := g.run([]byte(data), "--local-user", fpr, "--armor", "--detach-sign")
	if err != nil {
		return "", err
	}
	return deArmor(string(out))
}
