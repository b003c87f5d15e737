/*
 * One native UC_HOOK_BLOCK callback that counts instructions and cycles without calling Python
 * in the hot path.
 *
 * Algorithm: an open-addressing hash table keyed by (block address, block size) holds each
 * translated block's instruction count and cycle cost. On a hit the hook adds them to the running
 * totals (two additions). On a miss it calls `miss` (a Python function, once per distinct block)
 * which decodes the block with capstone and returns its costs; the entry is then cached. When the
 * instruction count passes `budget` the hook asks Unicorn to stop (uc_emu_stop, passed in as a
 * pointer so this file needs no Unicorn headers or library at build time).
 *
 * This file is built as a plain shared library (loaded with ctypes); it is not a Python module.
 */
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    uint32_t addr;
    uint32_t size; /* 0 marks an empty slot: Unicorn never reports empty blocks */
    uint32_t insns;
    uint32_t cycles;
} mcusim_block;

typedef int (*mcusim_miss_fn)(void *uc, uint32_t addr, uint32_t size, uint32_t *insns, uint32_t *cycles);
typedef int (*mcusim_stop_fn)(void *uc);

typedef struct {
    uint64_t instructions;
    uint64_t cycles;
    uint64_t budget;       /* stop once instructions > budget */
    uint32_t exhausted;    /* set when the budget stopped emulation */
    uint32_t last_block;   /* address of the block entered last */
    uint32_t miss_failed;  /* set if `miss` reported an error; emulation is stopped */
    uint32_t capacity;     /* power of two */
    uint32_t used;
    mcusim_block *table;
    mcusim_miss_fn miss;
    mcusim_stop_fn stop;
} mcusim_counter;

static uint32_t slot_of(uint32_t addr, uint32_t size, uint32_t mask)
{
    uint32_t h = (addr >> 1) * 2654435761u ^ size * 40503u;
    return h & mask;
}

static mcusim_block *probe(mcusim_block *table, uint32_t mask, uint32_t addr, uint32_t size)
{
    uint32_t i = slot_of(addr, size, mask);
    while (table[i].size != 0 && (table[i].addr != addr || table[i].size != size)) {
        i = (i + 1) & mask;
    }
    return &table[i];
}

static int grow(mcusim_counter *c)
{
    uint32_t capacity = c->capacity ? c->capacity * 2 : 4096;
    mcusim_block *table = calloc(capacity, sizeof *table);
    if (table == NULL) {
        return -1;
    }
    for (uint32_t i = 0; i < c->capacity; i++) {
        if (c->table[i].size != 0) {
            *probe(table, capacity - 1, c->table[i].addr, c->table[i].size) = c->table[i];
        }
    }
    free(c->table);
    c->table = table;
    c->capacity = capacity;
    return 0;
}

void mcusim_block_hook(void *uc, uint64_t address, uint32_t size, void *user_data)
{
    mcusim_counter *c = user_data;
    uint32_t addr = (uint32_t)address;
    c->last_block = addr;
    if (c->used * 2 >= c->capacity && grow(c) != 0) {
        c->miss_failed = 1;
        c->stop(uc);
        return;
    }
    mcusim_block *b = probe(c->table, c->capacity - 1, addr, size);
    if (b->size == 0) {
        uint32_t insns = 0, cycles = 0;
        if (c->miss(uc, addr, size, &insns, &cycles) != 0) {
            c->miss_failed = 1;
            c->stop(uc);
            return;
        }
        b->addr = addr;
        b->size = size;
        b->insns = insns;
        b->cycles = cycles;
        c->used++;
    }
    c->instructions += b->insns;
    c->cycles += b->cycles;
    if (c->instructions > c->budget && !c->exhausted) {
        c->exhausted = 1;
        c->stop(uc);
    }
}

void mcusim_counter_free(mcusim_counter *c)
{
    free(c->table);
    c->table = NULL;
    c->capacity = c->used = 0;
}
