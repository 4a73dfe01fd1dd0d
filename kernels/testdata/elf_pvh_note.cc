/* A tiny ELF that carries Xen's PHYS32_ENTRY note (type 18, name "Xen") in a
 * PT_NOTE segment, as a PVH-capable vmlinux does; built without the note
 * (-DNO_PVH_NOTE) it is an ELF like a kernel from before CONFIG_PVH. The
 * kernels tests read their notes with InspectElfNotes. */
#ifndef NO_PVH_NOTE
__asm__(".pushsection .note.Xen, \"a\", @note\n"
        ".balign 4\n"
        ".long 4\n"          /* namesz: "Xen\0" */
        ".long 4\n"          /* descsz */
        ".long 18\n"         /* XEN_ELFNOTE_PHYS32_ENTRY */
        ".asciz \"Xen\"\n"
        ".long 0x1000000\n"  /* the entry's physical address */
        ".popsection\n");
#endif
int main() { return 0; }
