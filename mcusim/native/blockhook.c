/*
 * One native UC_HOOK_BLOCK callback that counts instructions and cycles without calling Python
 * in the hot path.
 *
 * Algorithm: an open-addressing hash table keyed by (block address, block size) holds each
 * translated block's costs: instruction count, cycles assuming the block falls through at its end,
 * and the extra cycles of leaving it by a taken branch. On entering a block the hook
 *   1. settles the previous block's exit: taken if this block does not start where that one ended.
 *      The extra cycles depend on that outcome and on a branch predictor kept per block: a 2-bit
 *      saturating counter for the direction and the last taken target (a branch target cache), so
 *      a taken exit counts as predicted only when the counter says taken and the target repeats.
 *      On a core without a predictor the table holds equal costs for both predictions.
 *   2. adds this block's instruction and cycle counts.
 * On a miss it calls `miss` (a Python function, once per distinct block), which decodes the block
 * with capstone and fills in the costs. When the instruction count passes `budget` the hook asks
 * Unicorn to stop (uc_emu_stop, passed in as a pointer so this file needs no Unicorn headers or
 * library at build time). Per-block hit counts and exit cycles feed the function profile.
 *
 * This file is built as a plain shared library (loaded with ctypes); it is not a Python module.
 */
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t addr;
    uint32_t size;         /* 0 marks an empty slot: Unicorn never reports empty blocks */
    uint32_t insns;
    uint32_t cycles;       /* falling through at the end */
    uint8_t exit[4];       /* extra cycles of the exit, indexed by taken << 1 | predicted taken:
                              [0] fall-through as predicted (always 0), [1] fall-through predicted
                              taken, [2] taken predicted not taken, [3] taken as predicted */
    uint8_t counter;       /* 2-bit saturating predictor state: >= 2 predicts taken */
    uint8_t reserved[3];
    uint32_t last_target;  /* where the last taken exit went */
    uint64_t hits;         /* times entered */
    uint64_t exit_cycles;  /* extra exit cycles charged to this block */
} mcusim_block;

typedef int (*mcusim_miss_fn)(void *uc, uint32_t addr, uint32_t size, mcusim_block *block);
typedef int (*mcusim_stop_fn)(void *uc);

typedef struct {
    uint64_t instructions;
    uint64_t cycles;
    uint64_t budget;       /* stop once instructions > budget */
    uint32_t exhausted;    /* set when the budget stopped emulation */
    uint32_t last_block;   /* address of the block entered last */
    uint32_t miss_failed;  /* set if `miss` or an allocation failed; emulation is stopped */
    uint32_t capacity;     /* power of two */
    uint32_t used;
    mcusim_block *prev;    /* the block entered last; NULL after a reset */
    mcusim_block *table;
    mcusim_miss_fn miss;
    mcusim_stop_fn stop;
} mcusim_counter;

/* Linear probing from the halfword address: blocks lie in a few kilobytes of code, so the plain
 * address spreads them well, and it costs no multiply on the hot path. */
static uint32_t probe(const mcusim_block *table, uint32_t mask, uint32_t addr, uint32_t size)
{
    uint32_t i = (addr >> 1) & mask;
    while (table[i].size != 0 && (table[i].addr != addr || table[i].size != size)) {
        i = (i + 1) & mask;
    }
    return i;
}

static int grow(mcusim_counter *c)
{
    uint32_t capacity = c->capacity ? c->capacity * 2 : 4096;
    mcusim_block *table = calloc(capacity, sizeof *table);
    if (table == NULL) {
        return -1;
    }
    mcusim_block *prev = NULL;
    for (uint32_t i = 0; i < c->capacity; i++) {
        if (c->table[i].size != 0) {
            uint32_t j = probe(table, capacity - 1, c->table[i].addr, c->table[i].size);
            table[j] = c->table[i];
            if (&c->table[i] == c->prev) {
                prev = &table[j];
            }
        }
    }
    free(c->table);
    c->table = table;
    c->capacity = capacity;
    c->prev = prev;
    return 0;
}

/* First sight of a block: make room, then have Python decode and price it. Kept out of line so
 * that the hot path needs few registers. */
__attribute__((noinline, cold)) static mcusim_block *insert(mcusim_counter *c, void *uc, uint32_t addr,
                                                             uint32_t size)
{
    if (c->used * 2 >= c->capacity && grow(c) != 0) {
        return NULL;
    }
    mcusim_block *b = &c->table[probe(c->table, c->capacity - 1, addr, size)];
    b->addr = addr;
    b->size = size;
    if (c->miss(uc, addr, size, b) != 0) {
        b->size = 0;
        return NULL;
    }
    c->used++;
    return b;
}

void mcusim_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    /* Branch-free where it can be: the outcome pattern of guest branches would defeat the
     * host's branch predictor. */
    static const uint8_t next_state[2][4] = {{0, 0, 1, 2}, {1, 2, 3, 3}};
    mcusim_counter *c = user_data;
    uint32_t addr = (uint32_t)address;
    uint32_t extra = 0;
    mcusim_block *p = c->prev;
    if (p != NULL) {
        uint32_t taken = addr != p->addr + p->size;
        uint32_t hit = (p->counter >> 1) & (!taken | (addr == p->last_target));
        extra = p->exit[taken << 1 | hit];
        p->exit_cycles += extra;
        p->counter = next_state[taken][p->counter];
        p->last_target = taken ? addr : p->last_target;
    }
    mcusim_block *b = c->capacity ? &c->table[probe(c->table, c->capacity - 1, addr, size)] : NULL;
    if (__builtin_expect(b == NULL || b->size == 0, 0)) {
        b = insert(c, uc, addr, size);
        if (b == NULL) {
            c->miss_failed = 1;
            c->prev = NULL;
            c->stop(uc);
            return;
        }
    }
    c->prev = b;
    c->last_block = addr;
    b->hits++;
    /* One update of each total per block: a narrow store followed by the wide (vectorized) load
     * of both totals would defeat store-to-load forwarding. */
    c->instructions += b->insns;
    c->cycles += b->cycles + extra;
    if (__builtin_expect(c->instructions > c->budget, 0) && !c->exhausted) {
        c->exhausted = 1;
        c->stop(uc);
    }
}

void mcusim_counter_free(mcusim_counter *c)
{
    free(c->table);
    c->table = NULL;
    c->capacity = c->used = 0;
    c->prev = NULL;
}
