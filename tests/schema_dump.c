/* tests/schema_dump.c - prints the schema of icbu_reflow.h as the preprocessor sees it:
 * "type T" and then one line "T KIND wire_name subtype" per field of ICBU_FIELDS_T, for
 * every type of ICBU_ORDER_TYPES (the order's, dependencies first, the root last); after
 * a line "--", the same for ICBU_RESPONSE_TYPES (the gateway's answer); and, where the
 * header has the method table, one line per method of ICBU_METHODS:
 * "method id name param request_type envelope result_type key".
 * tests/check_schema.py compiles it and compares its output with tests/schema.json, so
 * the header's lists and the schema the gateway and the tests use cannot drift. */
#include "icbu_reflow.h"
#include <stdio.h>

#define DUMP_FIELD(st, kind, name, sub) printf("%s %s %s %s\n", #st, #kind, #name, #sub);
#define DUMP_TYPE(t) printf("type %s\n", #t); ICBU_FIELDS_##t(DUMP_FIELD)
#define DUMP_METHOD(id, name, param, req, key, env, res) \
    printf("method %s %s %s %s %s %s %s\n", #id, name, #param, #req, #env, #res, #key);

int main(void) {
    ICBU_ORDER_TYPES(DUMP_TYPE)
#ifdef ICBU_RESPONSE_TYPES
    printf("--\n");
    ICBU_RESPONSE_TYPES(DUMP_TYPE)
#endif
#ifdef ICBU_METHODS
    ICBU_METHODS(DUMP_METHOD)
#endif
    return 0;
}
