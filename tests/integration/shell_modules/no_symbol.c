/* no_symbol: a shared object that exports something, but no ftpd_shell_module. */
int not_a_shell_module(void);

int
not_a_shell_module(void)
{
	return 42;
}
