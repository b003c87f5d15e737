/*
 * Cycle-model microbenchmarks: loops of known instruction mixes. Each function takes the iteration
 * count in r0 (>= 1) and, where it reads memory, a pointer in r1 to a word that holds its own
 * address. The expected cycles are worked out by hand from the documentation in
 * tests/mcusim/test_cycles.py; the loop back-branch `bne` is taken n-1 times.
 */
    .syntax unified
    .thumb
    .section .text.mcusim_export, "ax", %progbits

    .macro FUNC name
    .global \name
    .type \name, %function
    .p2align 2
\name:
    .endm

FUNC mb_alu                 /* 8 independent ALU ops */
1:  adds r1, r1, #1
    adds r2, r2, #1
    adds r3, r3, #1
    adds r12, r12, #1
    adds r1, r1, #1
    adds r2, r2, #1
    adds r3, r3, #1
    adds r12, r12, #1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_alu_chain           /* 8 dependent ALU ops */
1:  adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    adds r1, r1, #1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_load                /* 4 independent loads, back to back */
1:  ldr r2, [r1]
    ldr r3, [r1]
    ldr r12, [r1]
    ldr r2, [r1, #0]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_load_pairs          /* 4 loads of consecutive words: neighbours read different banks */
1:  ldr r2, [r1]
    ldr r3, [r1, #4]
    ldr r12, [r1, #8]
    ldr r2, [r1, #12]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_load_banks          /* loads from r1 and from r2, alternately: banks known only at run time */
1:  ldr r3, [r1]
    ldr r12, [r2]
    ldr r3, [r1]
    ldr r12, [r2]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_const               /* 4 constants built by movw/movt */
1:  movw r1, #0x1234
    movt r1, #0x5678
    movw r2, #0x1234
    movt r2, #0x5678
    movw r3, #0x1234
    movt r3, #0x5678
    movw r12, #0x1234
    movt r12, #0x5678
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_pipetest            /* the loop of [D]'s CM7_pipetest_tmpl.S: 40 nop.w, subs 10 before bne */
1:  .rept 28
    nop.w
    .endr
    subs.w r0, #1
    .rept 10
    nop.w
    .endr
    bne.w 1b
    bx lr

FUNC mb_load_chase          /* 4 loads, each address the previous load's result */
1:  ldr r1, [r1]
    ldr r1, [r1]
    ldr r1, [r1]
    ldr r1, [r1]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_load_use            /* load, then an ALU op that uses it: 4 pairs */
1:  ldr r2, [r1]
    adds r3, r2, #1
    ldr r2, [r1]
    adds r3, r2, #1
    ldr r2, [r1]
    adds r3, r2, #1
    ldr r2, [r1]
    adds r3, r2, #1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_agu                 /* ALU result used as the next load's address: 4 pairs */
1:  adds r1, r1, #0
    ldr r2, [r1]
    adds r1, r1, #0
    ldr r2, [r1]
    adds r1, r1, #0
    ldr r2, [r1]
    adds r1, r1, #0
    ldr r2, [r1]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_store_imm           /* 4 stores with an immediate offset */
1:  str r2, [r1, #4]
    str r3, [r1, #8]
    str r2, [r1, #12]
    str r3, [r1, #16]
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_ldm                 /* LDM of 4 registers, STM of 4 registers */
    push {r4, r5}
1:  ldm r1, {r2, r3, r4, r5}
    stmia.w r1, {r2, r3, r4, r5}
    subs r0, r0, #1
    bne 1b
    pop {r4, r5}
    bx lr

FUNC mb_smlad               /* 8 dual 16-bit MACs into 2 accumulators */
1:  smlad r2, r3, r12, r2
    smlad r1, r3, r12, r1
    smlad r2, r3, r12, r2
    smlad r1, r3, r12, r1
    smlad r2, r3, r12, r2
    smlad r1, r3, r12, r1
    smlad r2, r3, r12, r2
    smlad r1, r3, r12, r1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_mul_alu             /* MUL paired with independent ALU ops */
1:  mul r2, r3, r12
    adds r1, r1, #1
    mul r2, r3, r12
    adds r1, r1, #1
    mul r2, r3, r12
    adds r1, r1, #1
    mul r2, r3, r12
    adds r1, r1, #1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_vmla                /* 4 single-precision MACs into 4 accumulators */
1:  vmla.f32 s0, s4, s5
    vmla.f32 s1, s4, s5
    vmla.f32 s2, s4, s5
    vmla.f32 s3, s4, s5
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_call                /* BL to a leaf that returns at once */
    push {r4, lr}
    mov r4, r0
1:  bl mb_leaf
    subs r4, r4, #1
    bne 1b
    pop {r4, pc}

FUNC mb_leaf
    bx lr

FUNC mb_forward_branch      /* a forward branch over one instruction, always taken */
1:  cmp r0, #0
    bne 2f
    adds r1, r1, #1
2:  subs r0, r0, #1
    bne 1b
    bx lr

FUNC main                   /* the microbenchmarks are called one by one; main does nothing */
    movs r0, #0
    bx lr

    .p2align 5
FUNC mb_flash               /* a loop of exactly one 16-byte line (8 16-bit instructions), 32-byte aligned */
1:  adds r1, r1, #1
    adds r2, r2, #1
    adds r3, r3, #1
    adds r1, r1, #1
    adds r2, r2, #1
    adds r3, r3, #1
    subs r0, r0, #1
    bne 1b
    bx lr

FUNC mb_early_flags         /* the loop counter's flags set 3 cycles before the bne that tests them */
1:  subs r0, r0, #1
    add.w r1, r1, #1
    add.w r1, r1, #1
    add.w r1, r1, #1
    add.w r1, r1, #1
    bne 1b
    bx lr

    .p2align 5
FUNC mb_flash_read          /* r0 passes over flash_table, a word per ldr: reads from flash */
    adr r1, flash_table
    movs r2, #64
1:  ldr r3, [r1], #4
    subs r2, r2, #1
    bne 1b
    subs r0, r0, #1
    bne mb_flash_read
    bx lr
    .p2align 5
flash_table:                /* 256 bytes, 32-byte aligned: 16 ART lines, 8 L1 lines */
    .space 256

FUNC mb_dwt                 /* returns DWT->CYCCNT after minus before mb_alu_chain(r0) */
    push {r4, lr}
    ldr r2, =0xE0001004
    ldr r4, [r2]
    bl mb_alu_chain         /* leaves r2 alone */
    ldr r0, [r2]
    subs r0, r0, r4
    pop {r4, pc}
    .ltorg

    .p2align 10
    .space 1020
FUNC mb_straddle            /* a pointer chase across a 1 KB page boundary (where the emulator ends a
                               block), the add.w straddling it a block of its own */
1:  ldr r1, [r1]            /* the last halfword before the boundary */
    add.w r3, r3, #1        /* across it */
    ldr r1, [r1]
    subs r0, r0, #1
    bne 1b
    bx lr
