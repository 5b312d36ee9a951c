/*
 * fs_gbdt_export.c - GBDT model -> XGBoost's JSON model format (version
 * 1.7.x, the schema of xgboost's doc/model.schema), with jansson.
 *
 * Conventions that make xgboost predict what fs_gbdt_model_predict predicts:
 * trees are stored in boosting order with tree_info[t] = the class of tree
 * t (0 for single-output objectives); a split node's split_conditions entry
 * is its float32 threshold (x < threshold goes left, as in fedsilo), a
 * leaf's is its value (eta already applied); base_score is written in
 * output space (a probability for binary:logistic: xgboost applies the
 * logit when it loads the model, as fedsilo does); parents of roots are
 * 2147483647.  The file is written by fs_json_write_file (17 significant
 * digits, so every float32 round-trips; durable publish).  JSON has no
 * infinity: a threshold of +-inf (a missing-versus-present split of a feature whose largest value is within
 * one fine bin of FLT_MAX) is written as +-FLT_MAX, which routes every
 * value except exactly +-FLT_MAX the same way.
 */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include "fs_gbdt_impl.h"
#include "core/fs_json_impl.h"

/* Append v to array a; 0 on failure (jansson steals the new value). */
static int push(json_t *a, json_t *v) { return v && json_array_append_new(a, v) == 0; }

static json_t *jfloat(float x)
{
    if (isinf(x)) x = x > 0 ? FLT_MAX : -FLT_MAX;
    return json_real((double)x);
}

static int set(json_t *o, const char *k, json_t *v)
{
    return v && json_object_set_new(o, k, v) == 0;
}

/* String value of an integer, as XGBoost stores its parameters. */
static json_t *jintstr(long long v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    return json_string(buf);
}

/* Release our reference on each of n values: an attached value
 * lives on in its parent, an unattached one (after a failure) is freed. */
static void unref_all(json_t **v, int n)
{
    for (int i = 0; i < n; i++) json_decref(v[i]);
}

static json_t *tree_json(const fs_gbdt_model *m, int t)
{
    const fs_gbdt_node *nd = m->nodes + m->tree_ptr[t];
    uint32_t nn = m->tree_ptr[t + 1] - m->tree_ptr[t];
    const char *arr[] = { "base_weights", "default_left", "left_children", "loss_changes",
                          "parents", "right_children", "split_conditions", "split_indices",
                          "split_type", "sum_hessian", "categories", "categories_nodes",
                          "categories_segments", "categories_sizes" };
    enum { NARR = 14 };
    /* a[0..NARR) the arrays, a[NARR] tree_param: ours until unref_all, a
     * parent takes a reference of its own (json_incref) when attached */
    json_t *tr = json_object(), *a[NARR + 1];
    for (int i = 0; i <= NARR; i++) a[i] = i < NARR ? json_array() : json_object();
    int ok = tr != NULL;
    for (int i = 0; i < NARR; i++) ok = ok && set(tr, arr[i], json_incref(a[i]));
    for (uint32_t i = 0; ok && i < nn; i++) {
        const fs_gbdt_node *x = nd + i;
        ok = push(a[0], jfloat(x->base_weight)) && push(a[1], json_integer(x->default_left)) &&
             push(a[2], json_integer(x->left)) && push(a[3], jfloat(x->loss_change)) &&
             push(a[4], json_integer(x->parent < 0 ? 2147483647 : x->parent)) &&
             push(a[5], json_integer(x->right)) && push(a[6], jfloat(x->cond)) &&
             push(a[7], json_integer(x->feature)) && push(a[8], json_integer(0)) &&
             push(a[9], jfloat(x->sum_hessian));
    }
    json_t *tp = a[NARR];
    ok = ok && set(tr, "id", json_integer(t)) && set(tr, "tree_param", json_incref(tp)) &&
         set(tp, "num_deleted", json_string("0")) &&
         set(tp, "num_feature", jintstr((long long)m->d)) &&
         set(tp, "num_nodes", jintstr((long long)nn)) &&
         set(tp, "size_leaf_vector", json_string("0"));
    unref_all(a, NARR + 1);
    if (!ok) {
        json_decref(tr);
        return NULL;
    }
    return tr;
}

static json_t *model_json(const fs_gbdt_model *m, const char *const *names)
{
    const fs_gbdt_opts *o = &m->opts;
    char buf[64];
    /* every object below is ours until unref_all; a parent takes a reference
     * of its own (json_incref) when attached, so a failure part way frees
     * the unattached ones too */
    enum { ROOT, LEARNER, FN, FT, GB, MODEL, GP, INFO, TREES, LMP, OBJ, VER, SUB, NOBJ };
    json_t *v[NOBJ];
    for (int i = 0; i < NOBJ; i++)
        v[i] = (i == FN || i == FT || i == INFO || i == TREES || i == VER) ? json_array()
                                                                           : json_object();
    json_t *root = v[ROOT], *learner = v[LEARNER], *gb = v[GB], *model = v[MODEL];
    int ok = root && set(root, "learner", json_incref(learner)) &&
             set(learner, "attributes", json_object()) &&
             set(learner, "feature_names", json_incref(v[FN])) &&
             set(learner, "feature_types", json_incref(v[FT])) &&
             set(learner, "gradient_booster", json_incref(gb)) &&
             set(gb, "model", json_incref(model)) && set(gb, "name", json_string("gbtree")) &&
             set(model, "gbtree_model_param", json_incref(v[GP])) &&
             set(model, "tree_info", json_incref(v[INFO])) &&
             set(model, "trees", json_incref(v[TREES])) &&
             set(learner, "learner_model_param", json_incref(v[LMP])) &&
             set(learner, "objective", json_incref(v[OBJ])) &&
             set(root, "version", json_incref(v[VER]));
    for (size_t f = 0; ok && names && f < m->d; f++)
        ok = push(v[FN], json_string(names[f])) && push(v[FT], json_string("float"));
    ok = ok && set(v[GP], "num_parallel_tree", json_string("1")) &&
         set(v[GP], "num_trees", jintstr(m->ntrees)) &&
         set(v[GP], "size_leaf_vector", json_string("0"));
    for (int t = 0; ok && t < m->ntrees; t++)
        ok = push(v[INFO], json_integer(m->tree_class[t])) && push(v[TREES], tree_json(m, t));
    snprintf(buf, sizeof buf, "%.9g", (double)(float)fs_gbdt_base_score(o));
    ok = ok && set(v[LMP], "base_score", json_string(buf)) &&
         set(v[LMP], "boost_from_average", json_string("1")) &&
         set(v[LMP], "num_class", jintstr(fs_gbdt_model_num_class(m))) &&
         set(v[LMP], "num_feature", jintstr((long long)m->d)) &&
         set(v[LMP], "num_target", json_string("1")) &&
         set(v[OBJ], "name", json_string(fs_gbdt_objective_name(o->objective)));
    if (m->nout > 1)
        ok = ok && set(v[OBJ], "softmax_multiclass_param", json_incref(v[SUB])) &&
             set(v[SUB], "num_class", jintstr(m->nout));
    else
        ok = ok && set(v[OBJ], "reg_loss_param", json_incref(v[SUB])) &&
             set(v[SUB], "scale_pos_weight", json_string("1"));
    ok = ok && push(v[VER], json_integer(1)) && push(v[VER], json_integer(7)) &&
         push(v[VER], json_integer(4));
    json_incref(root); /* the caller's reference */
    unref_all(v, NOBJ);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

fs_err fs_gbdt_export_xgboost_json(const fs_gbdt_model *m, const char *const *feature_names,
                                   const char *path)
{
    fs_err rc = FS_OK;
    json_t *root = model_json(m, feature_names);
    if (!root) FS_FAIL(FS_ERR_NOMEM, "gbdt: out of memory building the XGBoost JSON model");
    FS_TRY(fs_json_write_file(path, root));
done:
    json_decref(root);
    return rc;
}
