package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
)

// Upstream's default for a plugin (PulumiPlugin.yaml) that names no virtualenv: plugins never run on the
// ambient Python, programs may.
const defaultPluginVirtualenv = "venv"

// virtualenvDir is the absolute folder of the `virtualenv` runtime option (relative to the project or plugin
// root), upstream's default for plugins, or "" for a program that names none.
func virtualenvDir(info *pulumirpc.ProgramInfo, isPlugin bool) string {
	venv := info.GetOptions().GetFields()["virtualenv"].GetStringValue()
	if venv == "" && isPlugin {
		venv = defaultPluginVirtualenv
	}
	if venv == "" || filepath.IsAbs(venv) {
		return venv
	}
	return filepath.Join(info.GetRootDirectory(), venv)
}

// pythonFor picks the interpreter the way upstream does: the virtualenv (see virtualenvDir), else
// PULUMI_PYTHON_CMD, else python3 on PATH.
func pythonFor(info *pulumirpc.ProgramInfo, isPlugin bool) (string, []string, error) {
	if venv := virtualenvDir(info, isPlugin); venv != "" {
		python := filepath.Join(venv, "bin", "python")
		if _, err := os.Stat(python); err != nil {
			return "", nil, fmt.Errorf("the virtualenv %s named by the runtime options of %s has no bin/python "+
				"(run `pulumi install` there, or scripts/setup.sh for this repository's .venv): %w",
				venv, info.GetRootDirectory(), err)
		}
		return python, toolchain.ActivateVirtualEnv(os.Environ(), venv), nil
	}
	if cmd := os.Getenv("PULUMI_PYTHON_CMD"); cmd != "" {
		return cmd, os.Environ(), nil
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		return "", nil, errors.New("python3 is not on PATH (source scripts/pulumi-env.sh to use the project .venv)")
	}
	return python, os.Environ(), nil
}
