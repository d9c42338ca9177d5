package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"os"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// keyTypes maps the names peerlock's `keygen -t` uses to go-libp2p's.
var keyTypes = map[string]int{
	"ed25519":   crypto.Ed25519,
	"secp256k1": crypto.Secp256k1,
	"ecdsa":     crypto.ECDSA, // P-256
	"rsa":       crypto.RSA,
}

const rsaBits = 2048

// generate makes a fresh key of the named type.
func generate(name string) (crypto.PrivKey, error) {
	t, ok := keyTypes[name]
	if !ok {
		return nil, fmt.Errorf("unknown key type %q (ed25519, secp256k1, ecdsa, rsa)", name)
	}
	sk, _, err := crypto.GenerateKeyPairWithReader(t, rsaBits, rand.Reader)
	return sk, err
}

// readKey reads a libp2p PrivateKey protobuf file (the format of peerlock,
// go-libp2p and js-libp2p key files).
func readKey(path string) (crypto.PrivKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sk, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sk, nil
}

// identityFlags adds --key and --key-type to a command's flags.
type identityFlags struct {
	key, keyType *string
}

func addIdentityFlags(fs *flag.FlagSet) identityFlags {
	return identityFlags{
		key:     fs.String("key", "", "private key file (libp2p PrivateKey protobuf)"),
		keyType: fs.String("key-type", "", "or: a fresh key of this type"),
	}
}

// load returns the identity the flags name, and its peer ID.
func (f identityFlags) load() (crypto.PrivKey, peer.ID, error) {
	var sk crypto.PrivKey
	var err error
	switch {
	case *f.key != "" && *f.keyType != "":
		return nil, "", fmt.Errorf("give --key or --key-type, not both")
	case *f.key != "":
		sk, err = readKey(*f.key)
	case *f.keyType != "":
		sk, err = generate(*f.keyType)
	default:
		return nil, "", fmt.Errorf("--key FILE or --key-type T is required")
	}
	if err != nil {
		return nil, "", err
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, "", err
	}
	return sk, id, nil
}

// keyTypeName is the peerlock name of a key's type.
func keyTypeName(sk crypto.PrivKey) string {
	for n, t := range keyTypes {
		if int(sk.Type()) == t {
			return n
		}
	}
	return sk.Type().String()
}

func cmdKeygen(args []string) int {
	fs := flag.NewFlagSet("keygen", flag.ExitOnError)
	typ := fs.String("type", "ed25519", "ed25519, secp256k1, ecdsa or rsa (2048 bits)")
	out := fs.String("out", "", "key file to write (mode 0600, never overwritten)")
	fs.Parse(args)
	if *out == "" || fs.NArg() != 0 {
		usage()
	}
	sk, err := generate(*typ)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer keygen: %v\n", err)
		return exitUsage
	}
	b, err := crypto.MarshalPrivateKey(sk)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer keygen: %v\n", err)
		return exitFail
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer keygen: %v\n", err)
		return exitFail
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer keygen: %v\n", err)
		return exitFail
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		fmt.Fprintf(os.Stderr, "gopeer keygen: %s: %v\n", *out, err)
		return exitFail
	}
	if err := f.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "gopeer keygen: %s: %v\n", *out, err)
		return exitFail
	}
	fmt.Println(id)
	return exitOK
}

func cmdID(args []string) int {
	fs := flag.NewFlagSet("id", flag.ExitOnError)
	key := fs.String("key", "", "key file")
	fs.Parse(args)
	if *key == "" || fs.NArg() != 0 {
		usage()
	}
	sk, err := readKey(*key)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer id: %v\n", err)
		return exitFail
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gopeer id: %v\n", err)
		return exitFail
	}
	fmt.Println(id)
	return exitOK
}
