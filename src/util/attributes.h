/*
 * util/attributes: compiler attributes with names that say why they are
 * there, so a deliberate choice is not mistaken for an oversight.
 */
#ifndef FTPD_ATTRIBUTES_H
#define FTPD_ATTRIBUTES_H

/*
 * A parameter a callback or handler must take to fit its type, and has no
 * use for (a command that takes no argument, an event callback's fd).
 */
#define UNUSED __attribute__((unused))

#endif
