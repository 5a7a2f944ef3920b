// Typed entry points for libcurl's variadic functions.
//
// curl_easy_setopt(3) and curl_easy_getinfo(3) are C variadic functions, which Swift cannot call.
// Each wrapper below fixes the type of the variadic argument and forwards one-to-one, so all the logic
// stays in Swift (the same approach as swift-corelibs-foundation's CFURLSessionInterface.h).
#ifndef DIRSYNC_CCURL_SHIM_H
#define DIRSYNC_CCURL_SHIM_H

#include <curl/curl.h>

/// A data callback with the signature of CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
typedef size_t (*ccurl_data_callback)(char *_Nullable ptr, size_t size, size_t nmemb, void *_Nullable userdata);

/// curl_easy_setopt(3) for options that take a `long`.
static inline CURLcode ccurl_easy_setopt_long(CURL *_Nonnull h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(3) for options that take a NUL-terminated string (libcurl copies it).
static inline CURLcode ccurl_easy_setopt_string(CURL *_Nonnull h, CURLoption o, const char *_Nullable v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(3) for options that take an object pointer (kept alive by the caller).
static inline CURLcode ccurl_easy_setopt_pointer(CURL *_Nonnull h, CURLoption o, void *_Nullable v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(3) for options that take a `curl_off_t`.
static inline CURLcode ccurl_easy_setopt_offset(CURL *_Nonnull h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
/// curl_easy_setopt(3) for CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION.
static inline CURLcode ccurl_easy_setopt_data_callback(CURL *_Nonnull h, CURLoption o, ccurl_data_callback _Nullable cb) { return curl_easy_setopt(h, o, cb); }
/// curl_easy_getinfo(3) for values of type `long`.
static inline CURLcode ccurl_easy_getinfo_long(CURL *_Nonnull h, CURLINFO i, long *_Nonnull out) { return curl_easy_getinfo(h, i, out); }
/// curl_easy_getinfo(3) for values of type `double`.
static inline CURLcode ccurl_easy_getinfo_double(CURL *_Nonnull h, CURLINFO i, double *_Nonnull out) { return curl_easy_getinfo(h, i, out); }
/// curl_easy_getinfo(3) for values of type `curl_off_t`.
static inline CURLcode ccurl_easy_getinfo_offset(CURL *_Nonnull h, CURLINFO i, curl_off_t *_Nonnull out) { return curl_easy_getinfo(h, i, out); }
/// curl_easy_getinfo(3) for values of type `char *` (owned by the handle).
static inline CURLcode ccurl_easy_getinfo_string(CURL *_Nonnull h, CURLINFO i, const char *_Nullable *_Nonnull out) { return curl_easy_getinfo(h, i, out); }

#endif
