// OpenSSL's libcrypto (Debian's libssl-dev): PEM parsing, RSA signatures and digests for the
// certificate client assertion. Used instead of swift-crypto because it ships with the OS and
// costs no build time.
#ifndef DIRSYNC_COPENSSL_SHIM_H
#define DIRSYNC_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/rsa.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

/// EVP_PKEY_CTX_set_rsa_padding is a macro in some OpenSSL versions; this gives Swift a function.
static inline int copenssl_set_rsa_padding(EVP_PKEY_CTX *_Nonnull ctx, int padding) { return EVP_PKEY_CTX_set_rsa_padding(ctx, padding); }
/// Sets the PSS salt length (RSA_PSS_SALTLEN_DIGEST for PS256).
static inline int copenssl_set_rsa_pss_saltlen(EVP_PKEY_CTX *_Nonnull ctx, int len) { return EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, len); }
/// BIO_get_mem_data is a macro; this returns the buffer of a memory BIO.
static inline long copenssl_bio_get_mem_data(BIO *_Nonnull bio, char *_Nullable *_Nonnull out) { return BIO_get_mem_data(bio, out); }
#endif
