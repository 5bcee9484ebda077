/* paprikactl's commands that live in files of their own. */
#ifndef PAPRIKA_PAPRIKACTL_H
#define PAPRIKA_PAPRIKACTL_H

/* gpus.c: paprikactl gpus [--config FILE | --connect URI] [--json] */
int	cmd_gpus(int argc, char *argv[]);
/* audit.c: paprikactl audit export [options] */
int	cmd_audit(int argc, char *argv[]);

#endif
