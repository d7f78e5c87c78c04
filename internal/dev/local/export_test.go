package local

// PIDs returns the process ids of the pool's aws-lambda-rie processes.
func (p *RIEPool) PIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for pr := range p.live {
		pids = append(pids, pr.cmd.Process.Pid)
	}
	return pids
}
