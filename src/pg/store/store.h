/*
 * store.h - what the store layer (src/pg/store/) shares: how a version's rows
 * are cut (catalog.c writes them, version_read.c reads them back, forgetting
 * rewrites them in place) and the table of stored tensors (stored_tensors.c):
 * which tensors a version holds, of what shape, with what values.
 */
#ifndef XDREC_PG_STORE_H
#define XDREC_PG_STORE_H

#include "postgres.h"

#include "xdrec/core.h"
#include "xdrec/dataset.h"

/* weight chunks stay far below the 1 GB datum limit */
#define XDPG_CHUNK_BYTES (64 * 1024 * 1024)
#define XDPG_KEYS_PER_CHUNK 100000
#define XDPG_SEEN_USERS_PER_CHUNK 65536

/* a dimension of a stored tensor, resolved from the version's layout */
typedef enum XdDim
{
	XDPG_DIM_NONE,				/* the tensor is 1-D: no second dimension */
	XDPG_DIM_ONE,
	XDPG_DIM_M,					/* the encoded context width */
	XDPG_DIM_D,					/* the embedding width */
	XDPG_DIM_USERS,
	XDPG_DIM_ITEMS,
	XDPG_DIM_NUM,				/* raw floats per row */
	XDPG_DIM_EDGES,				/* bin edges of all binned features */
	XDPG_DIM_USER_NUM,			/* user profile floats, codes */
	XDPG_DIM_USER_CODES,
	XDPG_DIM_ITEM_NUM,			/* item profile floats, codes */
	XDPG_DIM_ITEM_CODES,
	XDPG_DIM_ENC_HIDDEN,		/* the distributional encoders' widths */
	XDPG_DIM_ENC_LATENT
} XdDim;

/* which versions store a tensor */
typedef enum XdTensorNeed
{
	XDPG_NEED_ALWAYS,
	XDPG_NEED_MM_RESIDUAL,		/* eq. 4-5 is on (xd_config_has_mm_residual) */
	XDPG_NEED_EXPLICIT,			/* explicit feedback: the biases of eq. 15 */
	XDPG_NEED_DRR,				/* a DRR target: the residuals of eq. 19 */
	XDPG_NEED_DRR_CTX,			/* ... on x^1, when L_C >= 1 */
	XDPG_NEED_ENCODERS,			/* a source's E_U, E_V (DESIGN section 4) */
	XDPG_NEED_ENCODERS_CTX		/* ... and E_C, when L_C >= 1 */
} XdTensorNeed;

/* one tensor per version, or one per layer with its number in the name */
typedef enum XdTensorRepeat
{
	XDPG_ONCE,
	XDPG_PER_CTX_LAYER,			/* l = 1..L_C */
	XDPG_PER_TOWER_LAYER		/* l = 1..L_U */
} XdTensorRepeat;

/* where a version's tensor is stored */
typedef enum XdTensorHome
{
	XDPG_HOME_OWN,				/* the version's own rows */
	XDPG_HOME_MODULE,			/* M1, M3, M4: its own, or for Direct and DRR its
								 * pinned source version's (DESIGN section 1) */
	XDPG_HOME_ENCODERS			/* a source's encoders: all of them or none */
} XdTensorHome;

/* what its values may be */
typedef enum XdValueRule
{
	XDPG_FINITE,
	XDPG_FINITE_OR_MISSING,		/* NaN means missing (dataset.h), never +-Inf */
	XDPG_USER_CODES,			/* categorical codes: -1 (missing) up to the */
	XDPG_ITEM_CODES				/* column's feature's "other" slot */
} XdValueRule;

/* a row of the table */
typedef struct XdTensorRule
{
	const char *name;			/* with "%d" for the layer when repeated */
	XdTensorNeed need;
	XdTensorRepeat repeat;
	XdDim		rows;
	XdDim		cols;			/* XDPG_DIM_NONE: 1-D */
	XdTensorHome home;
	XdValueRule values;
} XdTensorRule;

/* what decides a version's tensors: its config, feature layout and sizes */
typedef struct XdVersionLayout
{
	const xd_config *cfg;
	const xd_schema *schema;
	int32		n_users;
	int32		n_items;
	bool		drr;			/* a DRR target */
	bool		encoders;		/* the distributional encoders are wanted */
} XdVersionLayout;

/* one tensor a version must hold, by the table */
typedef struct XdStoredTensor
{
	char		name[XD_PARAM_NAME_LEN];
	int			ndim;
	uint64		shape[2];
	XdTensorHome home;
	XdValueRule values;
	bool		found;			/* for the reader */
} XdStoredTensor;

extern int	xdpg_stored_tensors(const XdVersionLayout *layout, XdStoredTensor **tensors);
extern const XdTensorRule *xdpg_stored_tensor_rule(const char *name);
extern uint64 xdpg_stored_tensor_count(const XdStoredTensor *t);

#endif
