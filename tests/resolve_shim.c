#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static const char suffix[] = ".example.test";
    int (*real)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    size_t n = node != NULL ? strlen(node) : 0;
    *(void **)&real = dlsym(RTLD_NEXT, "getaddrinfo");
    if (real == NULL)
        return EAI_SYSTEM;
    if (n >= sizeof suffix - 1 && strcmp(node + n - (sizeof suffix - 1), suffix) == 0)
        node = "127.0.0.1";
    return real(node, service, hints, res);
}
