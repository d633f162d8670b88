package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RunPlugin runs a Python plugin directory as `python DIR ARGS...`, streaming its output back: a policy pack,
// or a component package (PulumiPlugin.yaml, runtime python) whose __main__.py serves the provider protocol.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	isPlugin := req.GetKind() != string(apitype.AnalyzerPlugin)
	python, env, err := pythonFor(req.GetInfo(), isPlugin)
	if err != nil {
		return err
	}
	program := req.GetInfo().GetProgramDirectory()
	if program == "" {
		program = req.GetProgram()
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	// -u: a plugin prints the port it serves on without flushing, and the engine waits for that line.
	cmd := exec.CommandContext(server.Context(), python, append([]string{"-u", program}, req.GetArgs()...)...)
	cmd.Dir = req.GetPwd()
	cmd.Env = append(env, req.GetEnv()...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		return status.Errorf(codes.FailedPrecondition, "could not run %s: %v", python, err)
	}
	return closer.Close()
}

// InstallDependencies prepares the virtualenv of a plugin (`pulumi package add DIR`, `pulumi install` in it)
// or of a program, streaming pip's output. A virtualenv that is missing is made the way upstream does
// (`python -m venv`, pip/setuptools/wheel upgraded, requirements.txt installed, and a plugin that is a
// buildable pyproject package installed into it). An existing one is trusted (scripts/setup.sh keeps this
// repository's .venv, with our package installed editable): only requirements.txt, when there is one, is
// installed into it. A program that names no virtualenv runs on the ambient Python: nothing is installed.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	info := req.GetInfo()
	venv := virtualenvDir(info, req.GetIsPlugin())
	if venv == "" {
		return nil
	}
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()
	ctx, dir := server.Context(), info.GetProgramDirectory()

	if !toolchain.IsVirtualEnv(venv) {
		if err := toolchain.InstallDependencies(ctx, dir, venv, false, true, stdout, stderr); err != nil {
			return err
		}
		if req.GetIsPlugin() {
			buildable, err := toolchain.IsBuildablePackage(dir)
			if err != nil {
				return fmt.Errorf("reading %s: %w", filepath.Join(dir, "pyproject.toml"), err)
			}
			if buildable {
				if err := pip(venv, dir, stdout, stderr, "install", dir); err != nil {
					return err
				}
			}
		}
		return closer.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, "requirements.txt")); err == nil {
		if err := pip(venv, dir, stdout, stderr, "install", "-r", "requirements.txt"); err != nil {
			return err
		}
	}
	return closer.Close()
}

// pip runs `VENV/bin/python -m pip ARGS...` in dir.
func pip(venv, dir string, stdout, stderr io.Writer, args ...string) error {
	cmd := toolchain.VirtualEnvCommand(venv, "python", append([]string{"-m", "pip"}, args...)...)
	cmd.Dir = dir
	cmd.Env = toolchain.ActivateVirtualEnv(os.Environ(), venv)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s in %s: %w", cmd.String(), dir, err)
	}
	return nil
}
