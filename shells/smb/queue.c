/*
 * smb/queue: the per-session queue. One job at a time goes to a worker
 * thread, in the order queued, so calls on a context never overlap and a
 * close queued behind a read runs after it; each job completes on the loop.
 */
#include <errno.h>
#include <stdlib.h>

#include "smb.h"

static void pump(struct smb_session *session);

static void
job_work(void *arg)
{
	struct smb_job *job = arg;
	struct smb_session *session = job->session;

	if (!job->standalone && session->connection.ctx == NULL) {
		job->error = session->connect_error != 0 ? session->connect_error : -ENOTCONN;
		return;
	}
	smb_library_lock();
	job->work(job);
	smb_library_unlock();
}

static void
job_done(void *arg)
{
	struct smb_job *job = arg;
	struct smb_session *session = job->session;
	int last = job->last;

	session->running = 0;
	if (!last && smb_is_connection_error(job->error))
		session->broken = 1;
	job->complete(job);	/* frees job; the last one frees session too */
	if (!last)
		pump(session);
}


static void
pump(struct smb_session *session)
{
	struct smb_job *job = session->head;
	struct ftpd_host *host = session->host;

	if (session->running || job == NULL)
		return;
	session->head = job->next;
	if (session->head == NULL)
		session->tail = NULL;
	job->next = NULL;
	session->running = 1;
	if (host->run_blocking(host, job_work, job_done, job) == 0)
		return;
	/*
	 * No memory, or the server is stopping: run it here. It blocks the
	 * loop, but completes and frees what it holds; a read, write or
	 * listing that sees its data come at once returns it at once.
	 */
	job_work(job);
	job_done(job);
}

void
smb_submit(struct smb_session *session, struct smb_job *job)
{
	job->session = session;
	job->next = NULL;
	job->error = 0;
	if (session->tail != NULL)
		session->tail->next = job;
	else
		session->head = job;
	session->tail = job;
	pump(session);
}
