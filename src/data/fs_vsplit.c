/*
 * fs_vsplit.c - the vertical split of a dataset for vertical FL (data
 * layer; no MPI): contiguous feature-column blocks, the same rows in the
 * same order in every part, labels only in the label part; and the reader
 * of plain-text id files used by the private set intersection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "fs_impl.h"
#include "fedsilo/fs_data.h"
#include "fedsilo/fs_file.h"

void fs_vsplit_opts_default(fs_vsplit_opts *o)
{
    memset(o, 0, sizeof *o);
    o->parts = 0;
    o->label_rank = -1;
    o->test_fraction = 0.2;
    o->seed = 1;
}

/* Rows rows[0..nr) and columns [c0, c1) of src into a new dataset; the
 * labels only when `labels`, else zeros marked absent. */
static fs_err cut(const fs_dataset *src, const size_t *rows, size_t nr, size_t c0, size_t c1,
                  int labels, int part, int nparts, fs_dataset **out)
{
    fs_err rc = FS_OK;
    fs_dataset *ds = NULL;
    char prov[512];
    FS_TRY(fs_dataset_subset(src, rows, nr, c0, c1, &ds));
    if (!labels) {
        if (ds->y_class) memset(ds->y_class, 0, ds->n * sizeof *ds->y_class);
        if (ds->y_reg) memset(ds->y_reg, 0, ds->n * sizeof *ds->y_reg);
        ds->labels_absent = 1;
    }
    snprintf(prov, sizeof prov, "vfl-split part %d of %d: columns %zu..%zu of %s; labels %s", part,
             nparts, c0, c1 - 1, src->provenance ? src->provenance : "(unknown)",
             labels ? "held" : "withheld (zeros)");
    free(ds->provenance);
    ds->provenance = NULL;
    FS_TRY(fs_strdup(&ds->provenance, prov));
    ds->shard_index = part;
    ds->num_shards = nparts;
    *out = ds;
    ds = NULL;
done:
    fs_dataset_destroy(&ds);
    return rc;
}

fs_err fs_split_vertical(const fs_dataset *src, const char *name, const fs_vsplit_opts *o,
                         const char *outdir, fs_vsplit_part *info)
{
    fs_err rc = FS_OK;
    size_t *order = NULL;   /* (n) the shuffled row order */
    fs_dataset *ds = NULL;
    const int parts = o->parts;
    FS_CHECK_ARG(parts >= 1 && o->label_rank >= 0 && o->label_rank < parts,
                 "vertical split: --label-rank %d must be below --parts %d", o->label_rank, parts);
    FS_CHECK_ARG(o->test_fraction >= 0 && o->test_fraction < 1,
                 "vertical split: --test-fraction must be in [0, 1)");
    if (src->labels_absent)
        FS_FAIL(FS_ERR_DATA, "%s has no labels (attribute labels_absent): nothing to give to "
                "--label-rank", name);
    if (src->d < (size_t)parts)
        FS_FAIL(FS_ERR_DATA, "%s has %zu features, fewer than %d parts", name, src->d, parts);
    FS_TRY(fs_mkdir_p(outdir));
    FS_TRY(fs_alloc(&order, src->n, sizeof *order, "row order"));
    /* Seeded Fisher-Yates (SplitMix64): a reproducible row order. */
    uint64_t s = o->seed * 0x9e3779b97f4a7c15ULL + 0x5851f42d4c957f2dULL;
    for (size_t i = 0; i < src->n; i++) order[i] = i;
    for (size_t i = src->n; i > 1; i--) {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        size_t j = (size_t)(z % i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    size_t ntest = (size_t)(o->test_fraction * (double)src->n + 0.5);
    if (ntest >= src->n) ntest = src->n - 1;
    const size_t ntrain = src->n - ntest;
    for (int k = 0; k < parts; k++) {
        const size_t c0 = src->d * (size_t)k / (size_t)parts;
        const size_t c1 = src->d * (size_t)(k + 1) / (size_t)parts;
        for (int t = 0; t < 2; t++) {
            const size_t nr = t == 0 ? ntrain : ntest;
            char path[4200];
            if (nr == 0) continue;
            if (snprintf(path, sizeof path, "%s/%s-%d.h5", outdir, t == 0 ? "part" : "test", k) >=
                (int)sizeof path)
                FS_FAIL(FS_ERR_ARG, "output directory name too long: %.200s...", outdir);
            FS_TRY(cut(src, order + (t == 0 ? 0 : ntrain), nr, c0, c1, k == o->label_rank, k,
                       parts, &ds));
            FS_TRY(fs_dataset_write(ds, NULL, path));
            fs_dataset_destroy(&ds);
        }
        if (info) {
            info[k].c0 = c0;
            info[k].c1 = c1;
            info[k].ntrain = ntrain;
            info[k].ntest = ntest;
        }
    }
done:
    fs_dataset_destroy(&ds);
    free(order);
    return rc;
}

void fs_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++) free(ids[i]);
    free(ids);
}

fs_err fs_ids_read_text(const char *path, int header, char ***ids_out, size_t *n_out)
{
    fs_err rc = FS_OK;
    FILE *f = fopen(path, "r");
    char *line = NULL, **ids = NULL;
    size_t cap = 0, n = 0, ncap = 0;
    ssize_t len;
    int first = 1;
    *ids_out = NULL;
    *n_out = 0;
    if (!f) return fs_error_set(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) >= 0) {
        if (first && header) { first = 0; continue; }
        first = 0;
        char *s = line, *e;
        while (*s == ' ' || *s == '\t') s++;
        e = s + strcspn(s, ",\r\n");
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        *e = 0;
        if (!*s) continue;
        if (n == ncap) {
            size_t nc = ncap ? 2 * ncap : 1024;
            char **t = realloc(ids, nc * sizeof *ids);
            if (!t) FS_FAIL(FS_ERR_NOMEM, "%s: out of memory after %zu ids", path, n);
            ids = t;
            ncap = nc;
        }
        FS_TRY(fs_strdup(&ids[n], s));
        n++;
    }
    if (ferror(f)) FS_FAIL(FS_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    *ids_out = ids;
    *n_out = n;
    ids = NULL;
done:
    fs_ids_free(ids, n);
    free(line);
    fclose(f);
    return rc;
}
