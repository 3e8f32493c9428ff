/*
 * stored_tensors.c - the one table of the tensors a version stores in
 * xdrec.weight (DESIGN section 7): each one's name (the core's, xd_param),
 * shape, which versions hold it, where, and what its values may be.
 *
 * The reader (version_read.c) expands it for a version's config and layout
 * into the list of tensors that must be there, each exactly of its shape,
 * before it allocates anything; a tensor a later paper adds is a new row
 * here. The writer (version_write.c) still walks the model's parameters itself;
 * checking what it writes against this list is left for later.
 */
#include "postgres.h"

#include "xdrec/biao.h"
#include "xdrec/cold.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/fewshot.h"
#include "store/store.h"

/* an LSTM of fewshot.h (xd_fs_lstm): its seven tensors */
#define FS_LSTM(prefix, need, in, out) \
	{prefix ".Wx", need, XDPG_ONCE, XDPG_DIM_FS_GATES, in, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".Wh", need, XDPG_ONCE, XDPG_DIM_FS_GATES, XDPG_DIM_FS_HIDDEN, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".b", need, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_FS_GATES, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".ln_g", need, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_FS_GATES, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".ln_b", need, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_FS_GATES, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".Wo", need, XDPG_ONCE, out, XDPG_DIM_FS_HIDDEN, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	{prefix ".bo", need, XDPG_ONCE, XDPG_DIM_ONE, out, XDPG_HOME_FEWSHOT, XDPG_FINITE}
/* a slot of theta: "fs.init.<slot>" and the LSTM "fs.upd.<slot>.*" */
#define FS_SLOT(slot, need, rows, cols) \
	{"fs.init." slot, need, XDPG_ONCE, rows, cols, XDPG_HOME_FEWSHOT, XDPG_FINITE}, \
	FS_LSTM("fs.upd." slot, need, XDPG_DIM_FS_UPD_IN, XDPG_DIM_FS_UPD_OUT)

static const XdTensorRule stored_tensors[] = {
	/* M1: the multimodal residual (eq. 4-5) and the context layers (eq. 1-3) */
	{"ctx.mm.W", XDPG_NEED_MM_RESIDUAL, XDPG_ONCE, XDPG_DIM_M, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"ctx.mm.b", XDPG_NEED_MM_RESIDUAL, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"ctx.mm.s", XDPG_NEED_MM_RESIDUAL, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"ctx.W%d", XDPG_NEED_ALWAYS, XDPG_PER_CTX_LAYER, XDPG_DIM_M, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"ctx.b%d", XDPG_NEED_ALWAYS, XDPG_PER_CTX_LAYER, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	/* M3: the gates (eq. 6-7) and the towers (eq. 8-9) */
	{"clu.W_CU", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_D, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"clu.W_CV", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_D, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"clu.U.W%d", XDPG_NEED_ALWAYS, XDPG_PER_TOWER_LAYER, XDPG_DIM_D, XDPG_DIM_D, XDPG_HOME_MODULE, XDPG_FINITE},
	{"clu.U.b%d", XDPG_NEED_ALWAYS, XDPG_PER_TOWER_LAYER, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_MODULE, XDPG_FINITE},
	{"clu.V.W%d", XDPG_NEED_ALWAYS, XDPG_PER_TOWER_LAYER, XDPG_DIM_D, XDPG_DIM_D, XDPG_HOME_MODULE, XDPG_FINITE},
	{"clu.V.b%d", XDPG_NEED_ALWAYS, XDPG_PER_TOWER_LAYER, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_MODULE, XDPG_FINITE},
	/* M4: the context bias (eq. 10) */
	{"rank.w_C", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_MODULE, XDPG_FINITE},
	{"rank.b_C", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_MODULE, XDPG_FINITE},
	/* M2: the domain's embeddings, and the biases of eq. 15 */
	{"emb.user", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_USERS, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	{"emb.item", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	{"bias.user", XDPG_NEED_EXPLICIT, XDPG_ONCE, XDPG_DIM_USERS, XDPG_DIM_ONE, XDPG_HOME_OWN, XDPG_FINITE},
	{"bias.item", XDPG_NEED_EXPLICIT, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_ONE, XDPG_HOME_OWN, XDPG_FINITE},
	{"bias.global", XDPG_NEED_EXPLICIT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_OWN, XDPG_FINITE},
	/*
	 * an implicit few-shot market's item bias: its popularity term
	 * (fewshot.h, core.h's item_bias); markets adapted before it have none
	 */
	{"bias.item", XDPG_NEED_FEWSHOT_POP, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_ONE, XDPG_HOME_FEWSHOT_POP, XDPG_FINITE},
	/* the repeat term's r(c) = w_R . c* + b_R (core.h) */
	{"rep.w", XDPG_NEED_REPEAT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_OWN, XDPG_FINITE},
	{"rep.b", XDPG_NEED_REPEAT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_OWN, XDPG_FINITE},
	/* DRR's residual layers (eq. 19) */
	{"res.C.R", XDPG_NEED_DRR_CTX, XDPG_ONCE, XDPG_DIM_M, XDPG_DIM_M, XDPG_HOME_OWN, XDPG_FINITE},
	{"res.C.r", XDPG_NEED_DRR_CTX, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_M, XDPG_HOME_OWN, XDPG_FINITE},
	{"res.U.R", XDPG_NEED_DRR, XDPG_ONCE, XDPG_DIM_D, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	{"res.U.r", XDPG_NEED_DRR, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	{"res.V.R", XDPG_NEED_DRR, XDPG_ONCE, XDPG_DIM_D, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	{"res.V.r", XDPG_NEED_DRR, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_OWN, XDPG_FINITE},
	/*
	 * the feature encoding (features.h): normalisation, bin edges, profiles;
	 * 0.1.0 wrote them as "enc.num_min", ... (xdpg_stored_tensor_current_name)
	 */
	{"feat.num_min", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_NUM, XDPG_DIM_NONE, XDPG_HOME_OWN, XDPG_FINITE_OR_MISSING},
	{"feat.num_max", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_NUM, XDPG_DIM_NONE, XDPG_HOME_OWN, XDPG_FINITE_OR_MISSING},
	{"feat.bin_edges", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_EDGES, XDPG_DIM_NONE, XDPG_HOME_OWN, XDPG_FINITE_OR_MISSING},
	{"feat.user_num", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_USERS, XDPG_DIM_USER_NUM, XDPG_HOME_OWN, XDPG_FINITE_OR_MISSING},
	{"feat.user_codes", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_USERS, XDPG_DIM_USER_CODES, XDPG_HOME_OWN, XDPG_USER_CODES},
	{"feat.item_num", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_ITEM_NUM, XDPG_HOME_OWN, XDPG_FINITE_OR_MISSING},
	{"feat.item_codes", XDPG_NEED_ALWAYS, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_ITEM_CODES, XDPG_HOME_OWN, XDPG_ITEM_CODES},
	/* the source's distributional encoders E_C, E_U, E_V (dist_encoder.h) */
	{"enc.C.W1", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ENC_HIDDEN, XDPG_DIM_M, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.C.b1", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.C.Wm", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.C.bm", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.C.Wl", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.C.bl", XDPG_NEED_ENCODERS_CTX, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.W1", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_HIDDEN, XDPG_DIM_D, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.b1", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.Wm", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.bm", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.Wl", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.U.bl", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.W1", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_HIDDEN, XDPG_DIM_D, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.b1", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.Wm", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.bm", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.Wl", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ENC_LATENT, XDPG_DIM_ENC_HIDDEN, XDPG_HOME_ENCODERS, XDPG_FINITE},
	{"enc.V.bl", XDPG_NEED_ENCODERS, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ENC_LATENT, XDPG_HOME_ENCODERS, XDPG_FINITE},
	/* the cold-start module (CMML, cold.h): the encoder (paper eq. 6), the heads */
	{"cold.enc.W1", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_COLD_HIDDEN, XDPG_DIM_COLD_IN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.enc.b1", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.enc.W2", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_COLD_HIDDEN, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.enc.b2", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.emb.W", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_D, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.emb.b", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.bias.W", XDPG_NEED_COLD_EXPLICIT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.bias.b", XDPG_NEED_COLD_EXPLICIT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.rep.W", XDPG_NEED_COLD_REPEAT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD, XDPG_FINITE},
	{"cold.rep.b", XDPG_NEED_COLD_REPEAT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_COLD, XDPG_FINITE},
	/* FiLM per user tower layer (paper eq. 11): gamma = 1 + W_g C + b_g, beta */
	/* its context-popularity prior, counted per domain, and own items first */
	{"cold.prior.N", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_COLD_PRIOR_ROWS, XDPG_DIM_ITEMS, XDPG_HOME_COLD_PRIOR, XDPG_FINITE},
	{"cold.prior.W", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_COLD_PRIOR, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD_PRIOR, XDPG_FINITE},
	{"cold.prior.k", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_PRIOR, XDPG_HOME_COLD_PRIOR, XDPG_FINITE},
	{"cold.prior.b", XDPG_NEED_COLD, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_COLD_PRIOR, XDPG_HOME_COLD_PRIOR, XDPG_FINITE},
	{"cold.rep.floor", XDPG_NEED_COLD_REPEAT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_COLD_PRIOR, XDPG_FINITE},
	/* its item co-occurrence prior: the neighbour table and lambda (cold.h) */
	{"cold.cooc.nbr", XDPG_NEED_COLD_IMPLICIT, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_COLD_COOC_WIDTH, XDPG_HOME_COLD_COOC, XDPG_FINITE},
	{"cold.cooc.share", XDPG_NEED_COLD_IMPLICIT, XDPG_ONCE, XDPG_DIM_ITEMS, XDPG_DIM_COLD_COOC_WIDTH, XDPG_HOME_COLD_COOC, XDPG_FINITE},
	{"cold.cooc.lambda", XDPG_NEED_COLD_IMPLICIT, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_ONE, XDPG_HOME_COLD_COOC, XDPG_FINITE},
	{"cold.film.g%d.W", XDPG_NEED_COLD, XDPG_PER_TOWER_LAYER, XDPG_DIM_D, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD_FILM, XDPG_FINITE},
	{"cold.film.g%d.b", XDPG_NEED_COLD, XDPG_PER_TOWER_LAYER, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_COLD_FILM, XDPG_FINITE},
	{"cold.film.b%d.W", XDPG_NEED_COLD, XDPG_PER_TOWER_LAYER, XDPG_DIM_D, XDPG_DIM_COLD_HIDDEN, XDPG_HOME_COLD_FILM, XDPG_FINITE},
	{"cold.film.b%d.b", XDPG_NEED_COLD, XDPG_PER_TOWER_LAYER, XDPG_DIM_ONE, XDPG_DIM_D, XDPG_HOME_COLD_FILM, XDPG_FINITE},
	/*
	 * the few-shot meta-learner (s2Meta, fewshot.h): per slot of theta its
	 * learned initialisation omega_R (a residual tensor whole, a table's one
	 * row) and its update LSTM (eq. 7-8); then the stop LSTM (eq. 9)
	 */
	FS_SLOT("res.C.R", XDPG_NEED_FEWSHOT_CTX, XDPG_DIM_M, XDPG_DIM_M),
	FS_SLOT("res.C.r", XDPG_NEED_FEWSHOT_CTX, XDPG_DIM_ONE, XDPG_DIM_M),
	FS_SLOT("res.U.R", XDPG_NEED_FEWSHOT, XDPG_DIM_D, XDPG_DIM_D),
	FS_SLOT("res.U.r", XDPG_NEED_FEWSHOT, XDPG_DIM_ONE, XDPG_DIM_D),
	FS_SLOT("res.V.R", XDPG_NEED_FEWSHOT, XDPG_DIM_D, XDPG_DIM_D),
	FS_SLOT("res.V.r", XDPG_NEED_FEWSHOT, XDPG_DIM_ONE, XDPG_DIM_D),
	FS_SLOT("emb.user", XDPG_NEED_FEWSHOT, XDPG_DIM_ONE, XDPG_DIM_D),
	FS_SLOT("emb.item", XDPG_NEED_FEWSHOT, XDPG_DIM_ONE, XDPG_DIM_D),
	FS_SLOT("bias.user", XDPG_NEED_FEWSHOT_EXPLICIT, XDPG_DIM_ONE, XDPG_DIM_ONE),
	FS_SLOT("bias.item", XDPG_NEED_FEWSHOT_EXPLICIT, XDPG_DIM_ONE, XDPG_DIM_ONE),
	FS_SLOT("bias.global", XDPG_NEED_FEWSHOT_EXPLICIT, XDPG_DIM_ONE, XDPG_DIM_ONE),
	FS_LSTM("fs.stop", XDPG_NEED_FEWSHOT, XDPG_DIM_FS_STOP_IN, XDPG_DIM_ONE),
	/*
	 * BIAO's behavioural perceptron (biao.h, eq. 3-8), its parameters phi in
	 * one row: w_G, b_G, A_S, A_T, w_L, b_L
	 */
	{"biao.phi", XDPG_NEED_BIAO, XDPG_ONCE, XDPG_DIM_ONE, XDPG_DIM_BIAO_PHI, XDPG_HOME_BIAO, XDPG_FINITE},
};

static bool
needed(XdTensorNeed need, const XdVersionLayout *l)
{
	bool		has_ctx = l->cfg->n_ctx_layers >= 1;

	switch (need)
	{
		case XDPG_NEED_ALWAYS:
			return true;
		case XDPG_NEED_MM_RESIDUAL:
			return xd_config_has_mm_residual(l->cfg);
		case XDPG_NEED_EXPLICIT:
			return l->cfg->feedback == XD_EXPLICIT;
		case XDPG_NEED_REPEAT:
			return l->cfg->repeat && l->cfg->feedback == XD_IMPLICIT;
		case XDPG_NEED_DRR:
			return l->drr;
		case XDPG_NEED_DRR_CTX:
			return l->drr && has_ctx;
		case XDPG_NEED_ENCODERS:
			return l->encoders;
		case XDPG_NEED_ENCODERS_CTX:
			return l->encoders && has_ctx;
		case XDPG_NEED_COLD:
			return l->cold;
		case XDPG_NEED_COLD_EXPLICIT:
			return l->cold && l->cfg->feedback == XD_EXPLICIT;
		case XDPG_NEED_COLD_REPEAT:
			return l->cold && l->cfg->repeat && l->cfg->feedback == XD_IMPLICIT;
		case XDPG_NEED_COLD_IMPLICIT:
			return l->cold && l->cfg->feedback == XD_IMPLICIT &&
				xd_cold_cooc_width((int32_t) l->n_items) > 0;
		case XDPG_NEED_FEWSHOT:
			return l->fewshot;
		case XDPG_NEED_FEWSHOT_CTX:
			return l->fewshot && has_ctx;
		case XDPG_NEED_FEWSHOT_EXPLICIT:
			return l->fewshot && l->cfg->feedback == XD_EXPLICIT;
		case XDPG_NEED_FEWSHOT_POP:
			return l->fewshot_market && l->cfg->feedback == XD_IMPLICIT;
		case XDPG_NEED_BIAO:
			return l->biao;
	}
	return false;
}

static uint64
dim(XdDim d, const XdVersionLayout *l)
{
	const xd_schema *s = l->schema;

	switch (d)
	{
		case XDPG_DIM_NONE:
		case XDPG_DIM_ONE:
			return 1;
		case XDPG_DIM_M:
			return (uint64) l->cfg->m;
		case XDPG_DIM_D:
			return (uint64) l->cfg->d;
		case XDPG_DIM_USERS:
			return (uint64) l->n_users;
		case XDPG_DIM_ITEMS:
			return (uint64) l->n_items;
		case XDPG_DIM_NUM:
			return (uint64) s->n_num;
		case XDPG_DIM_EDGES:
			return (uint64) s->n_edges;
		case XDPG_DIM_USER_NUM:
			return (uint64) s->n_user_num;
		case XDPG_DIM_USER_CODES:
			return (uint64) s->n_user_codes;
		case XDPG_DIM_ITEM_NUM:
			return (uint64) s->n_item_num;
		case XDPG_DIM_ITEM_CODES:
			return (uint64) s->n_item_codes;
		case XDPG_DIM_ENC_HIDDEN:
			return XD_ENC_HIDDEN;
		case XDPG_DIM_ENC_LATENT:
			return XD_ENC_LATENT;
		case XDPG_DIM_COLD_HIDDEN:
			return XD_COLD_HIDDEN;
		case XDPG_DIM_COLD_IN:
			return (uint64) l->cfg->d + (uint64) l->cfg->m + 1;
		case XDPG_DIM_COLD_PRIOR:
			return ((uint64) s->n_interaction + 1) * XD_COLD_PRIOR_BANDS;
		case XDPG_DIM_COLD_PRIOR_ROWS:
			return (uint64) xd_cold_prior_rows(s);
		case XDPG_DIM_COLD_COOC_WIDTH:
			return (uint64) xd_cold_cooc_width((int32_t) l->n_items);
		case XDPG_DIM_FS_GATES:
			return 4 * XD_FS_HIDDEN;
		case XDPG_DIM_FS_HIDDEN:
			return XD_FS_HIDDEN;
		case XDPG_DIM_FS_UPD_IN:
			return XD_FS_UPD_IN;
		case XDPG_DIM_FS_UPD_OUT:
			return 2;
		case XDPG_DIM_FS_STOP_IN:
			return XD_FS_STOP_IN;
		case XDPG_DIM_BIAO_PHI:
			return (uint64) xd_biao_phi_size(l->cfg->d, l->cfg->m);
	}
	return 0;
}

/*
 * The tensors a version of this layout stores, in table order (palloc'd);
 * returns how many.
 */
int
xdpg_stored_tensors(const XdVersionLayout *layout, XdStoredTensor **tensors)
{
	int			cap = 0,
				n = 0;
	XdStoredTensor *out;

	for (int i = 0; i < lengthof(stored_tensors); i++)
		cap += stored_tensors[i].repeat == XDPG_PER_CTX_LAYER ? layout->cfg->n_ctx_layers :
			stored_tensors[i].repeat == XDPG_PER_TOWER_LAYER ? layout->cfg->n_tower_layers : 1;
	out = palloc0(sizeof(XdStoredTensor) * Max(cap, 1));
	for (int i = 0; i < lengthof(stored_tensors); i++)
	{
		const XdTensorRule *r = &stored_tensors[i];
		int			layers = r->repeat == XDPG_PER_CTX_LAYER ? layout->cfg->n_ctx_layers :
			r->repeat == XDPG_PER_TOWER_LAYER ? layout->cfg->n_tower_layers : 1;

		if (!needed(r->need, layout))
			continue;
		for (int l = 1; l <= layers; l++)
		{
			XdStoredTensor *t = &out[n++];

			if (r->repeat == XDPG_ONCE)
				strlcpy(t->name, r->name, sizeof(t->name));
			else
				snprintf(t->name, sizeof(t->name), r->name, l);
			t->ndim = r->cols == XDPG_DIM_NONE ? 1 : 2;
			t->shape[0] = dim(r->rows, layout);
			t->shape[1] = dim(r->cols, layout);
			t->home = r->home;
			t->values = r->values;
		}
	}
	*tensors = out;
	return n;
}

/*
 * The name a tensor has now for one stored under name: 0.1.0 stored the
 * feature encoding under "enc.", the prefix of DRR's distributional encoders
 * ("enc.C.W1"), and versions written since store it under "feat."; the reader
 * takes both (test/integration/upgrade_from_0_1_0.sh). Other names are
 * their own.
 */
const char *
xdpg_stored_tensor_current_name(const char *name)
{
	if (strncmp(name, "enc.", 4) == 0)
	{
		char	   *feat = psprintf("feat.%s", name + 4);

		for (int i = 0; i < lengthof(stored_tensors); i++)
			if (strcmp(stored_tensors[i].name, feat) == 0)
				return stored_tensors[i].name;
		pfree(feat);
	}
	return name;
}

/*
 * The table's row for a tensor name ("ctx.W3" matches "ctx.W%d",
 * "cold.film.g2.W" matches "cold.film.g%d.W"; 0.1.0's names as
 * xdpg_stored_tensor_current_name reads them), or NULL for a name the
 * table does not know (a later release's tensor).
 */
const XdTensorRule *
xdpg_stored_tensor_rule(const char *name)
{
	name = xdpg_stored_tensor_current_name(name);
	for (int i = 0; i < lengthof(stored_tensors); i++)
	{
		const char *pattern = stored_tensors[i].name;
		const char *layer = strstr(pattern, "%d");

		if (!layer)
		{
			if (strcmp(name, pattern) == 0)
				return &stored_tensors[i];
		}
		else if (strncmp(name, pattern, layer - pattern) == 0)
		{
			const char *digits = name + (layer - pattern);
			size_t		n_digits = strspn(digits, "0123456789");

			if (digits[0] >= '1' && digits[0] <= '9' &&
				strcmp(digits + n_digits, layer + 2) == 0)
				return &stored_tensors[i];
		}
	}
	return NULL;
}

/* Number of elements of a stored tensor. */
uint64
xdpg_stored_tensor_count(const XdStoredTensor *t)
{
	return t->ndim == 1 ? t->shape[0] : t->shape[0] * t->shape[1];
}
