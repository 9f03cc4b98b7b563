/* The files a cmocka test leaves for the Python checks: out_dir (argv[1], or
 * "build") and write_file(). Include after <stdio.h> and <cmocka.h>. */
static const char *out_dir = "build";

/* out_dir/name holds exactly p[0..n). */
static void write_file(const char *name, const char *p, size_t n) {
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
}
